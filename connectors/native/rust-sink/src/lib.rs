//! rust-sink: a Tremor.NET native sink written in Rust with no crates.
//!
//! Counts events and bytes. config:
//! - `async` (bool): answer TREMOR_PENDING and ack every event id later from a thread the plugin owns
//!   (joined in destroy, as the header's threading contract requires);
//! - `panic-on-batch` N: panic inside the Nth batch (tests that a panic becomes an error status, not an abort).
//!
//! Every entry point runs inside `std::panic::catch_unwind`: nothing unwinds across the C boundary.

mod abi;

use abi::*;
use core::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Sender};
use std::thread::JoinHandle;

struct HostPtr(*const HostApi);
// The host API may be called from any thread and lives until destroy returns (which joins the thread).
unsafe impl Send for HostPtr {}

struct Sink {
    host: *const HostApi,
    panic_on_batch: u64,
    batches: u64,
    events: u64,
    bytes: u64,
    acker: Option<(Sender<Vec<u64>>, JoinHandle<()>)>,
}

/// Runs `body`, turning a panic into TREMOR_ERROR_PANIC with the panic's message.
fn guard(err: *mut Err, body: impl FnOnce() -> Status) -> Status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(status) => status,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            set_err(err, TREMOR_ERROR_PANIC, &format!("panic: {message}"))
        }
    }
}

/// A naive lookup of a top-level key in a flat JSON object (enough for this sample).
fn config_value<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("\"{key}\"");
    let start = json.find(&needle)? + needle.len();
    let rest = json[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

fn log(host: *const HostApi, message: &str) {
    unsafe {
        if let Some(h) = host.as_ref() {
            if let Some(log) = h.log {
                log(h.ctx, TREMOR_LOG_INFO, message.as_ptr() as *const c_char, message.len());
            }
        }
    }
}

unsafe extern "C" fn sink_create(args: *const CreateArgs, out: *mut *mut c_void, err: *mut Err) -> Status {
    guard(err, || {
        let args = unsafe { &*args };
        let json = if args.config_len == 0 {
            ""
        } else {
            match std::str::from_utf8(unsafe { std::slice::from_raw_parts(args.config_json, args.config_len) }) {
                Ok(s) => s,
                Err(_) => return set_err(err, TREMOR_ERROR_CONFIG, "config: expected UTF-8 JSON"),
            }
        };
        let panic_on_batch = match config_value(json, "panic-on-batch") {
            None => 0,
            Some(v) => match v.trim_matches('"').parse::<u64>() {
                Ok(n) => n,
                Err(_) => return set_err(err, TREMOR_ERROR_CONFIG, &format!("panic-on-batch: expected a non-negative integer, found {v}")),
            },
        };
        let is_async = match config_value(json, "async") {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => return set_err(err, TREMOR_ERROR_CONFIG, &format!("async: expected true or false, found {v}")),
        };
        let acker = if is_async {
            let (tx, rx) = channel::<Vec<u64>>();
            let host = HostPtr(args.host);
            let thread = std::thread::spawn(move || {
                let host = host;
                for ids in rx {
                    unsafe {
                        if let Some(h) = host.0.as_ref() {
                            if let Some(ack) = h.ack {
                                ack(h.ctx, ids.as_ptr(), ids.len());
                            }
                        }
                    }
                }
            });
            Some((tx, thread))
        } else {
            None
        };
        let sink = Box::new(Sink { host: args.host, panic_on_batch, batches: 0, events: 0, bytes: 0, acker });
        unsafe { *out = Box::into_raw(sink) as *mut c_void };
        TREMOR_OK
    })
}

unsafe extern "C" fn sink_destroy(instance: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut sink = unsafe { Box::from_raw(instance as *mut Sink) };
        if let Some((tx, thread)) = sink.acker.take() {
            drop(tx); // ends the thread's loop
            let _ = thread.join();
        }
        log(sink.host, &format!("rust-sink: {} events, {} bytes in {} batches", sink.events, sink.bytes, sink.batches));
    }));
}

unsafe extern "C" fn sink_batch(instance: *mut c_void, batch: *const SinkBatch, err: *mut Err) -> Status {
    guard(err, || {
        let sink = unsafe { &mut *(instance as *mut Sink) };
        let batch = unsafe { &*batch };
        sink.batches += 1;
        if sink.panic_on_batch != 0 && sink.batches == sink.panic_on_batch {
            panic!("batch {} panics on purpose (panic-on-batch = {})", sink.batches, sink.panic_on_batch);
        }
        let slices: &[SinkSlice] = if batch.count == 0 {
            &[]
        } else {
            unsafe { std::slice::from_raw_parts(batch.slices, batch.count as usize) }
        };
        for s in slices {
            sink.bytes += s.len as u64;
        }
        sink.events += slices.len() as u64;
        match &sink.acker {
            Some((tx, _)) => {
                let ids: Vec<u64> = slices.iter().map(|s| s.event_id).collect();
                match tx.send(ids) {
                    Ok(()) => TREMOR_PENDING,
                    Err(_) => set_err(err, TREMOR_ERROR, "the ack thread is gone"),
                }
            }
            None => TREMOR_OK,
        }
    })
}

unsafe extern "C" fn sink_lifecycle(_instance: *mut c_void, _event: u32, err: *mut Err) -> Status {
    guard(err, || TREMOR_OK)
}

static VTABLE: SyncVtable = SyncVtable(Vtable {
    size: core::mem::size_of::<Vtable>() as u32,
    reserved: 0,
    create: Some(sink_create),
    destroy: Some(sink_destroy),
    connect: None,
    pull: None,
    release: None,
    sink_batch: Some(sink_batch),
    lifecycle: Some(sink_lifecycle),
});

#[no_mangle]
pub static tremor_pdk_plugin_v1: SyncDescriptor = SyncDescriptor(Descriptor {
    magic: TREMOR_PDK_MAGIC,
    size: core::mem::size_of::<Descriptor>() as u32,
    abi_major: TREMOR_PDK_ABI_MAJOR,
    abi_minor: TREMOR_PDK_ABI_MINOR,
    layout: LAYOUT.as_ptr(),
    layout_count: LAYOUT.len() as u32,
    kinds: TREMOR_KIND_SINK,
    flags: TREMOR_FLAG_ASYNC_SINK,
    reserved: 0,
    name: c"rust-sink".as_ptr(),
    version: c"0.1.0".as_ptr(),
    config_schema: c"{\"type\":\"object\",\"properties\":{\"async\":{\"type\":\"boolean\"},\"panic-on-batch\":{\"type\":\"integer\",\"minimum\":0}},\"additionalProperties\":false}".as_ptr(),
    default_codec: c"json".as_ptr(),
    vtable: &VTABLE.0 as *const Vtable,
    description: c"counts events; optional asynchronous acks from its own thread (native Rust sink)".as_ptr(),
});
