//! __NAME__: a Tremor.NET native sink in Rust (no crates) that counts events and bytes.
//! Every entry point runs inside `catch_unwind`: a panic becomes an error status, never an abort.

mod abi;

use abi::*;
use core::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

struct Sink {
    host: *const HostApi,
    events: u64,
    bytes: u64,
}

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

unsafe extern "C" fn sink_create(args: *const CreateArgs, out: *mut *mut c_void, err: *mut Err) -> Status {
    guard(err, || {
        let args = unsafe { &*args };
        let sink = Box::new(Sink { host: args.host, events: 0, bytes: 0 });
        unsafe { *out = Box::into_raw(sink) as *mut c_void };
        TREMOR_OK
    })
}

unsafe extern "C" fn sink_destroy(instance: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let sink = unsafe { Box::from_raw(instance as *mut Sink) };
        let message = format!("__NAME__: {} events, {} bytes", sink.events, sink.bytes);
        unsafe {
            if let Some(h) = sink.host.as_ref() {
                if let Some(log) = h.log {
                    log(h.ctx, TREMOR_LOG_INFO, message.as_ptr() as *const c_char, message.len());
                }
            }
        }
    }));
}

unsafe extern "C" fn sink_batch(instance: *mut c_void, batch: *const SinkBatch, err: *mut Err) -> Status {
    guard(err, || {
        let sink = unsafe { &mut *(instance as *mut Sink) };
        let batch = unsafe { &*batch };
        let slices: &[SinkSlice] = if batch.count == 0 { &[] } else { unsafe { std::slice::from_raw_parts(batch.slices, batch.count as usize) } };
        for s in slices {
            sink.bytes += s.len as u64;
        }
        sink.events += slices.len() as u64;
        TREMOR_OK
    })
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
    lifecycle: None,
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
    flags: 0,
    reserved: 0,
    name: c"__NAME__".as_ptr(),
    version: c"0.1.0".as_ptr(),
    config_schema: c"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}".as_ptr(),
    default_codec: c"json".as_ptr(),
    vtable: &VTABLE.0 as *const Vtable,
    description: c"__NAME__: counts events and bytes (native Rust sink)".as_ptr(),
});
