//! __NAME__: a Tremor.NET native source in Rust (no crates) that emits {"n":0} .. {"n":count-1}, then finishes.
//! Config: count (default 10), read from the config JSON in create.
//! Every entry point runs inside `catch_unwind`: a panic becomes an error status, never an abort.

mod abi;

use abi::*;
use core::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

struct Source {
    count: u64,
    next: u64,
    ended: bool,
    /// What the last pull's slices point into; valid until the host calls release (the next pull reuses it).
    events: Vec<Vec<u8>>,
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

/// The value of a top-level integer `key` in the config JSON: Ok(None) when absent. A tiny reader for flat objects,
/// not a JSON parser; a real plugin would use one (serde_json, vendored).
fn config_u64(json: &[u8], key: &str) -> Result<Option<u64>, String> {
    let needle = format!("\"{key}\"");
    let Some(at) = json.windows(needle.len()).position(|w| w == needle.as_bytes()) else { return Ok(None) };
    let rest = &json[at + needle.len()..];
    let value: Vec<u8> = rest.iter().copied().skip_while(|b| *b == b' ' || *b == b':').take_while(u8::is_ascii_digit).collect();
    std::str::from_utf8(&value).ok().and_then(|v| v.parse().ok()).map(Some).ok_or_else(|| format!("{key}: expected a non-negative integer"))
}

unsafe extern "C" fn source_create(args: *const CreateArgs, out: *mut *mut c_void, err: *mut Err) -> Status {
    guard(err, || {
        let args = unsafe { &*args };
        let json = if args.config_len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(args.config_json, args.config_len) } };
        // A bad value is a config error: the flow does not start, and the message names the key.
        let count = match config_u64(json, "count") {
            Ok(v) => v.unwrap_or(10),
            Err(message) => return set_err(err, TREMOR_ERROR_CONFIG, &message),
        };
        let source = Box::new(Source { count, next: 0, ended: false, events: Vec::new() });
        unsafe { *out = Box::into_raw(source) as *mut c_void };
        TREMOR_OK
    })
}

unsafe extern "C" fn source_destroy(instance: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(instance as *mut Source) })));
}

unsafe extern "C" fn source_pull(instance: *mut c_void, pull: *mut Pull, err: *mut Err) -> Status {
    guard(err, || {
        let source = unsafe { &mut *(instance as *mut Source) };
        let pull = unsafe { &mut *pull };
        pull.count = 0;
        if source.ended {
            return TREMOR_FINISHED;
        }
        let slices = unsafe { std::slice::from_raw_parts_mut(pull.slices, pull.capacity as usize) };
        source.events.clear();
        while (source.events.len() as u32) < pull.capacity && source.next < source.count {
            source.events.push(format!("{{\"n\":{}}}", source.next).into_bytes());
            source.next += 1;
        }
        for (slot, bytes) in slices.iter_mut().zip(source.events.iter()) {
            *slot = SourceSlice { data: bytes.as_ptr(), len: bytes.len(), stream_id: 0, ingest_ns: 0, meta: core::ptr::null(), meta_len: 0, flags: 0, reserved: 0 };
        }
        let mut n = source.events.len();
        if source.next >= source.count && n < slices.len() {
            // The end of stream 0: the runtime flushes its preprocessors for it.
            slices[n] = SourceSlice { data: core::ptr::null(), len: 0, stream_id: 0, ingest_ns: 0, meta: core::ptr::null(), meta_len: 0, flags: TREMOR_SLICE_STREAM_END, reserved: 0 };
            n += 1;
            source.ended = true;
        }
        pull.count = n as u32;
        if source.ended { TREMOR_FINISHED } else { TREMOR_OK }
    })
}

unsafe extern "C" fn source_release(_instance: *mut c_void, _err: *mut Err) -> Status {
    TREMOR_OK // the buffers are reused by the next pull
}

static VTABLE: SyncVtable = SyncVtable(Vtable {
    size: core::mem::size_of::<Vtable>() as u32,
    reserved: 0,
    create: Some(source_create),
    destroy: Some(source_destroy),
    connect: None,
    pull: Some(source_pull),
    release: Some(source_release),
    sink_batch: None,
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
    kinds: TREMOR_KIND_SOURCE,
    flags: 0,
    reserved: 0,
    name: c"__NAME__".as_ptr(),
    version: c"0.1.0".as_ptr(),
    config_schema: c"{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\",\"minimum\":0}},\"additionalProperties\":false}".as_ptr(),
    default_codec: c"json".as_ptr(),
    vtable: &VTABLE.0 as *const Vtable,
    description: c"__NAME__: emits {\"n\":0} .. {\"n\":count-1} (native Rust source)".as_ptr(),
});
