//! Email: templates, the mailer backends and the outbox dispatcher.

pub mod chart;
pub mod dispatcher;
pub mod mailer;
pub mod smtp;
pub mod templates;

pub use dispatcher::Dispatcher;
pub use mailer::{Mailer, SendError, SentEmail};
pub use templates::{EmailContent, Renderer};
