mod api;
mod bad_input;
mod helpers;
mod journey;
mod ops;
mod outbox;
mod quiz;
mod quiz_bank;
