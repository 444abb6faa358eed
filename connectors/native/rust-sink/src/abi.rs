//! repr(C) mirrors of Tremor.Native/include/tremor_pdk.h (ABI 1.1) and the layout table built with offset_of!.
#![allow(dead_code)]

use core::ffi::{c_char, c_void};
use core::mem::{offset_of, size_of, MaybeUninit};

pub type Status = i32;
pub const TREMOR_OK: Status = 0;
/// A pull found nothing right now.
pub const TREMOR_EMPTY: Status = 1;
/// A pull's source is exhausted: what it returned is the last.
pub const TREMOR_FINISHED: Status = 2;
pub const TREMOR_PENDING: Status = 3;
pub const TREMOR_FAILED: Status = 4;
pub const TREMOR_ERROR: Status = -1;
pub const TREMOR_ERROR_CONFIG: Status = -2;
pub const TREMOR_ERROR_PANIC: Status = -3;

pub const TREMOR_PDK_MAGIC: u64 = 0x314B_4450_524D_5254;
pub const TREMOR_PDK_ABI_MAJOR: u16 = 1;
pub const TREMOR_PDK_ABI_MINOR: u16 = 1;
pub const TREMOR_KIND_SOURCE: u32 = 1;
pub const TREMOR_KIND_SINK: u32 = 2;
pub const TREMOR_FLAG_ASYNC_SINK: u32 = 1;
pub const TREMOR_LOG_DEBUG: i32 = 0;
pub const TREMOR_LOG_INFO: i32 = 1;
pub const TREMOR_LOG_WARNING: i32 = 2;
pub const TREMOR_LOG_ERROR: i32 = 3;
/// SourceSlice.flags: the stream ends with this slice (its data may be empty).
pub const TREMOR_SLICE_STREAM_END: u32 = 1;
/// Lifecycle events (ABI 1.1, Vtable.lifecycle).
pub const TREMOR_LIFECYCLE_PAUSE: u32 = 1;
pub const TREMOR_LIFECYCLE_RESUME: u32 = 2;
pub const TREMOR_LIFECYCLE_DRAIN: u32 = 3;
pub const TREMOR_LIFECYCLE_STOP: u32 = 4;
pub const TREMOR_LIFECYCLE_END: u32 = 5;

#[repr(C)]
pub struct LayoutEntry {
    pub struct_id: u32,
    pub member_id: u32,
    pub offset: u32,
    pub size: u32,
}

#[repr(C)]
pub struct Err {
    pub ptr: *mut c_char,
    pub cap: usize,
    pub len: usize,
}

#[repr(C)]
pub struct SinkSlice {
    pub data: *const u8,
    pub len: usize,
    pub event_id: u64,
    pub ingest_ns: u64,
}

#[repr(C)]
pub struct SourceSlice {
    pub data: *const u8,
    pub len: usize,
    pub stream_id: u64,
    pub ingest_ns: u64,
    pub meta: *const u8,
    pub meta_len: usize,
    pub flags: u32,
    pub reserved: u32,
}

#[repr(C)]
pub struct HostApi {
    pub size: u32,
    pub abi_minor: u32,
    pub ctx: *mut c_void,
    pub log: Option<unsafe extern "C" fn(*mut c_void, i32, *const c_char, usize)>,
    pub monotonic_ns: Option<unsafe extern "C" fn(*mut c_void) -> u64>,
    pub wall_ns: Option<unsafe extern "C" fn(*mut c_void) -> u64>,
    pub ack: Option<unsafe extern "C" fn(*mut c_void, *const u64, usize)>,
    pub fail: Option<unsafe extern "C" fn(*mut c_void, *const u64, usize, *const c_char, usize)>,
    pub request_shutdown: Option<unsafe extern "C" fn(*mut c_void, i32, *const c_char, usize)>,
}

#[repr(C)]
pub struct CreateArgs {
    pub size: u32,
    pub kinds: u32,
    pub host: *const HostApi,
    pub config_json: *const u8,
    pub config_len: usize,
    pub alias: *const u8,
    pub alias_len: usize,
}

#[repr(C)]
pub struct SinkBatch {
    pub size: u32,
    pub count: u32,
    pub slices: *const SinkSlice,
    pub bytes: *const u8,
    pub bytes_len: usize,
    pub batch_id: u64,
}

#[repr(C)]
pub struct Pull {
    pub size: u32,
    pub capacity: u32,
    pub slices: *mut SourceSlice,
    pub count: u32,
    pub reserved: u32,
    pub max_wait_ns: u64,
}

pub type CreateFn = unsafe extern "C" fn(*const CreateArgs, *mut *mut c_void, *mut Err) -> Status;
pub type DestroyFn = unsafe extern "C" fn(*mut c_void);
pub type ConnectFn = unsafe extern "C" fn(*mut c_void, u32, *mut Err) -> Status;
pub type PullFn = unsafe extern "C" fn(*mut c_void, *mut Pull, *mut Err) -> Status;
pub type ReleaseFn = unsafe extern "C" fn(*mut c_void, *mut Err) -> Status;
pub type SinkBatchFn = unsafe extern "C" fn(*mut c_void, *const SinkBatch, *mut Err) -> Status;
pub type LifecycleFn = unsafe extern "C" fn(*mut c_void, u32, *mut Err) -> Status;

#[repr(C)]
pub struct Vtable {
    pub size: u32,
    pub reserved: u32,
    pub create: Option<CreateFn>,
    pub destroy: Option<DestroyFn>,
    pub connect: Option<ConnectFn>,
    pub pull: Option<PullFn>,
    pub release: Option<ReleaseFn>,
    pub sink_batch: Option<SinkBatchFn>,
    pub lifecycle: Option<LifecycleFn>,
}

#[repr(C)]
pub struct Descriptor {
    pub magic: u64,
    pub size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub layout: *const LayoutEntry,
    pub layout_count: u32,
    pub kinds: u32,
    pub flags: u32,
    pub reserved: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub config_schema: *const c_char,
    pub default_codec: *const c_char,
    pub vtable: *const Vtable,
    pub description: *const c_char,
}

/// The descriptor holds raw pointers to statics; it is immutable, so sharing it is sound.
#[repr(transparent)]
pub struct SyncDescriptor(pub Descriptor);
unsafe impl Sync for SyncDescriptor {}

#[repr(transparent)]
pub struct SyncVtable(pub Vtable);
unsafe impl Sync for SyncVtable {}

/// size_of a field, as the compiler lays it out (no value is read).
pub const fn field_size<F>(_: *const F) -> usize {
    size_of::<F>()
}

macro_rules! size_row {
    ($sid:expr, $t:ty) => {
        LayoutEntry { struct_id: $sid, member_id: 0, offset: 0, size: size_of::<$t>() as u32 }
    };
}

macro_rules! member_row {
    ($sid:expr, $t:ty, $mid:expr, $f:ident) => {
        LayoutEntry {
            struct_id: $sid,
            member_id: $mid,
            offset: offset_of!($t, $f) as u32,
            size: {
                let u = MaybeUninit::<$t>::uninit();
                field_size(unsafe { core::ptr::addr_of!((*u.as_ptr()).$f) }) as u32
            },
        }
    };
}

/// Every row of ABI 1.1 (TREMOR_PDK_LAYOUT_V1_0 and _V1_1 in the header).
pub static LAYOUT: [LayoutEntry; 81] = [
    size_row!(1, LayoutEntry),
    member_row!(1, LayoutEntry, 1, struct_id),
    member_row!(1, LayoutEntry, 2, member_id),
    member_row!(1, LayoutEntry, 3, offset),
    member_row!(1, LayoutEntry, 4, size),
    size_row!(2, Err),
    member_row!(2, Err, 1, ptr),
    member_row!(2, Err, 2, cap),
    member_row!(2, Err, 3, len),
    size_row!(3, SinkSlice),
    member_row!(3, SinkSlice, 1, data),
    member_row!(3, SinkSlice, 2, len),
    member_row!(3, SinkSlice, 3, event_id),
    member_row!(3, SinkSlice, 4, ingest_ns),
    size_row!(4, SourceSlice),
    member_row!(4, SourceSlice, 1, data),
    member_row!(4, SourceSlice, 2, len),
    member_row!(4, SourceSlice, 3, stream_id),
    member_row!(4, SourceSlice, 4, ingest_ns),
    member_row!(4, SourceSlice, 5, meta),
    member_row!(4, SourceSlice, 6, meta_len),
    member_row!(4, SourceSlice, 7, flags),
    member_row!(4, SourceSlice, 8, reserved),
    size_row!(5, HostApi),
    member_row!(5, HostApi, 1, size),
    member_row!(5, HostApi, 2, abi_minor),
    member_row!(5, HostApi, 3, ctx),
    member_row!(5, HostApi, 4, log),
    member_row!(5, HostApi, 5, monotonic_ns),
    member_row!(5, HostApi, 6, wall_ns),
    member_row!(5, HostApi, 7, ack),
    member_row!(5, HostApi, 8, fail),
    member_row!(5, HostApi, 9, request_shutdown),
    size_row!(6, CreateArgs),
    member_row!(6, CreateArgs, 1, size),
    member_row!(6, CreateArgs, 2, kinds),
    member_row!(6, CreateArgs, 3, host),
    member_row!(6, CreateArgs, 4, config_json),
    member_row!(6, CreateArgs, 5, config_len),
    member_row!(6, CreateArgs, 6, alias),
    member_row!(6, CreateArgs, 7, alias_len),
    size_row!(7, SinkBatch),
    member_row!(7, SinkBatch, 1, size),
    member_row!(7, SinkBatch, 2, count),
    member_row!(7, SinkBatch, 3, slices),
    member_row!(7, SinkBatch, 4, bytes),
    member_row!(7, SinkBatch, 5, bytes_len),
    member_row!(7, SinkBatch, 6, batch_id),
    size_row!(8, Pull),
    member_row!(8, Pull, 1, size),
    member_row!(8, Pull, 2, capacity),
    member_row!(8, Pull, 3, slices),
    member_row!(8, Pull, 4, count),
    member_row!(8, Pull, 5, reserved),
    member_row!(8, Pull, 6, max_wait_ns),
    size_row!(9, Vtable),
    member_row!(9, Vtable, 1, size),
    member_row!(9, Vtable, 2, reserved),
    member_row!(9, Vtable, 3, create),
    member_row!(9, Vtable, 4, destroy),
    member_row!(9, Vtable, 5, connect),
    member_row!(9, Vtable, 6, pull),
    member_row!(9, Vtable, 7, release),
    member_row!(9, Vtable, 8, sink_batch),
    size_row!(10, Descriptor),
    member_row!(10, Descriptor, 1, magic),
    member_row!(10, Descriptor, 2, size),
    member_row!(10, Descriptor, 3, abi_major),
    member_row!(10, Descriptor, 4, abi_minor),
    member_row!(10, Descriptor, 5, layout),
    member_row!(10, Descriptor, 6, layout_count),
    member_row!(10, Descriptor, 7, kinds),
    member_row!(10, Descriptor, 8, flags),
    member_row!(10, Descriptor, 9, reserved),
    member_row!(10, Descriptor, 10, name),
    member_row!(10, Descriptor, 11, version),
    member_row!(10, Descriptor, 12, config_schema),
    member_row!(10, Descriptor, 13, default_codec),
    member_row!(10, Descriptor, 14, vtable),
    // 1.1
    member_row!(9, Vtable, 9, lifecycle),
    member_row!(10, Descriptor, 15, description),
];

/// Writes a message into the host's error buffer and returns `status`.
pub fn set_err(err: *mut Err, status: Status, message: &str) -> Status {
    unsafe {
        if let Some(err) = err.as_mut() {
            if !err.ptr.is_null() && err.cap > 0 {
                let n = message.len().min(err.cap);
                core::ptr::copy_nonoverlapping(message.as_ptr(), err.ptr as *mut u8, n);
                err.len = n;
            }
        }
    }
    status
}
