//! onramp: hiring and onboarding for remote customer-support agents.

pub mod app;
pub mod assessment;
pub mod cli;
pub mod config;
pub mod domain;
pub mod email;
pub mod intake;
pub mod jobs;
pub mod seed;
pub mod staff;
pub mod store;
pub mod web;
