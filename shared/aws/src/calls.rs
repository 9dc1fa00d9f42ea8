//! Counts the AWS calls this process makes, and the DynamoDB capacity they
//! consume: the budget of AWS calls per request (SPEC 11) is checked on the
//! built functions by reading what [`Tally::since`] reports after every
//! invocation (the `aws calls` log line of `privacy-lambda`).
//!
//! [`CallCounter`] is attached to every client this crate builds
//! ([`crate::dynamodb_client`] and the others). It costs two relaxed atomic
//! additions per call; on DynamoDB it also asks for `ReturnConsumedCapacity:
//! TOTAL` (free: the response only grows by the figure) and adds it up.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    scan::{ScanInput, ScanOutput},
    transact_get_items::{TransactGetItemsInput, TransactGetItemsOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

static CALLS: AtomicU64 = AtomicU64::new(0);
/// Consumed capacity in thousandths of a unit (DynamoDB reports halves).
static CAPACITY_MILLIS: AtomicU64 = AtomicU64::new(0);
/// The operations called, in order (kept short: a function's invocation
/// makes a handful; a batch job's are cut at [`MAX_NAMED`]), since the
/// last [`Tally::begin`].
static OPERATIONS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
const MAX_NAMED: usize = 64;

/// The calls made so far by this process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub calls: u64,
    /// DynamoDB capacity units consumed (reads and writes).
    pub capacity_units: f64,
    /// `Service.Operation` of each call, in order.
    pub operations: Vec<String>,
}

impl Tally {
    /// The tally at the start of an invocation (a Lambda process serves one
    /// at a time): the operations named so far are forgotten.
    pub fn begin() -> Self {
        if let Ok(mut names) = OPERATIONS.lock() {
            names.clear();
        }
        Self::now()
    }

    /// The process's tally now.
    pub fn now() -> Self {
        Self {
            calls: CALLS.load(Ordering::Relaxed),
            capacity_units: CAPACITY_MILLIS.load(Ordering::Relaxed) as f64 / 1000.0,
            operations: OPERATIONS
                .lock()
                .map(|names| names.iter().map(|name| (*name).to_owned()).collect())
                .unwrap_or_default(),
        }
    }

    /// What was called between `earlier` and now.
    pub fn since(earlier: &Tally) -> Self {
        let now = Self::now();
        Self {
            calls: now.calls.saturating_sub(earlier.calls),
            capacity_units: ((now.capacity_units - earlier.capacity_units) * 1000.0).round() / 1000.0,
            operations: now
                .operations
                .get(earlier.operations.len()..)
                .unwrap_or_default()
                .to_vec(),
        }
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operations.join(","))
    }
}

/// The interceptor every client of this crate carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallCounter;

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        macro_rules! ask_capacity {
            ($($input:ty),*) => {
                $(if let Some(input) = input.downcast_mut::<$input>() {
                    input.return_consumed_capacity.get_or_insert(ReturnConsumedCapacity::Total);
                    return Ok(());
                })*
            };
        }
        ask_capacity!(
            GetItemInput,
            PutItemInput,
            UpdateItemInput,
            DeleteItemInput,
            QueryInput,
            ScanInput,
            BatchGetItemInput,
            BatchWriteItemInput,
            TransactGetItemsInput,
            TransactWriteItemsInput
        );
        Ok(())
    }

    /// Every attempt that goes on the wire is a call (retries included).
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        CALLS.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut names) = OPERATIONS.lock() {
            if names.len() < MAX_NAMED {
                names.push(operation_name(cfg));
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Ok(output)) = context.output_or_error() else {
            return Ok(());
        };
        let one = |capacity: Option<&ConsumedCapacity>| capacity.and_then(ConsumedCapacity::capacity_units);
        let many = |capacity: &[ConsumedCapacity]| {
            Some(
                capacity
                    .iter()
                    .filter_map(ConsumedCapacity::capacity_units)
                    .sum::<f64>(),
            )
        };
        let units = if let Some(output) = output.downcast_ref::<GetItemOutput>() {
            one(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<PutItemOutput>() {
            one(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<UpdateItemOutput>() {
            one(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<DeleteItemOutput>() {
            one(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<QueryOutput>() {
            one(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<ScanOutput>() {
            one(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<BatchGetItemOutput>() {
            many(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<BatchWriteItemOutput>() {
            many(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<TransactGetItemsOutput>() {
            many(output.consumed_capacity())
        } else if let Some(output) = output.downcast_ref::<TransactWriteItemsOutput>() {
            many(output.consumed_capacity())
        } else {
            None
        };
        if let Some(units) = units.filter(|units| units.is_finite() && *units > 0.0) {
            CAPACITY_MILLIS.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// `Service.Operation` (e.g. `DynamoDB.GetItem`) from the call's metadata.
fn operation_name(cfg: &ConfigBag) -> &'static str {
    let Some(metadata) = cfg.load::<Metadata>() else {
        return "unknown";
    };
    // Interned: the names are few and static in practice.
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let name = format!("{}.{}", metadata.service(), metadata.name());
    let Ok(mut names) = NAMES.lock() else {
        return "unknown";
    };
    if let Some(known) = names.iter().find(|known| **known == name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.push(leaked);
    leaked
}
