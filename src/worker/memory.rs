//! Hands the allocator's free memory back to the operating system now and then. glibc keeps what
//! a burst freed (start-up's API document, a wave of sign-ins' Argon2 buffers, a large export) in
//! its heaps, so the process's resident memory stays at the burst's high-water mark although
//! nothing uses it; measured at start-up, 10 MiB of the 47 MiB resident were such free memory.

use std::time::Duration;

use tokio::sync::watch;

/// The first trim, once start-up's allocations are done.
const FIRST: Duration = Duration::from_secs(1);
/// Then this often: a trim of an idle heap is a walk of its free lists.
const EVERY: Duration = Duration::from_secs(10);

pub async fn return_free_memory(mut shutdown: watch::Receiver<bool>) {
    let mut period = FIRST;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        trim();
        period = EVERY;
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers; it takes the allocator's own locks and releases
    // only pages of free chunks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators return memory on their own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
