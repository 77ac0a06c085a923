//! onramp: hiring and onboarding for remote customer-support agents.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod email;
pub mod jobs;
pub mod seed;
pub mod store;
pub mod synthetic;
pub mod usecases;
pub mod web;
pub mod webhooks;
