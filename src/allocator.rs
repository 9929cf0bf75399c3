//! The process's memory allocator: the C library's `malloc`, with a cache of freed blocks in
//! front of it for the thread that serves Terraform.
//!
//! A read allocates and frees about 180 blocks (requests, headers, values, buffers), ten reads at
//! a time. glibc's per-thread cache keeps seven blocks of each size and none above 1 KiB, so
//! about a third of those calls fall through to its general bins, and malloc and free were a
//! fifth of the instructions of a read (docs/performance.md, Decisions). Here each size class
//! keeps more blocks, and blocks up to 16 KiB, so a read's allocations come back from the cache.
//!
//! The cache keeps glibc's hardening of its own cache: links are mangled with their address
//! (glibc's "safe-linking"), a link that does not decode to an aligned block ends the process, a
//! block freed at an unaligned address ends it, and a block freed twice is found (a key word in
//! every cached block, as glibc's tcache does; glibc's key is random, this one is the address of a
//! static, which moves with the process's layout) and ends it.
//! Other threads, and blocks it does not cache (larger than 16 KiB, or aligned beyond 16 bytes),
//! go to `malloc` unchanged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// The largest block the cache keeps.
const LARGEST: usize = 16 * 1024;
/// What `malloc` aligns every block to on x86-64 and aarch64 Linux, and what the cache serves.
const ALIGN: usize = 16;
/// The smallest request above what glibc's own cache serves (`tcache_max_bytes`, 1,032).
const SMALLEST_LARGE: usize = 1033;
/// Classes of small blocks: one per size of glibc's chunks (16 bytes apart, from 32 to 1,040).
const SMALL_CLASSES: usize = 64;
/// Classes of large blocks (above 1 KiB): two per power of two, 3/4 and 1, up to [`LARGEST`].
const CLASSES: usize = SMALL_CLASSES + 8;

/// A block in the cache: a mangled link to the next one, and the key that marks it as cached.
#[repr(C)]
struct Node {
    next: usize,
    key: usize,
}

#[derive(Clone, Copy)]
struct Bin {
    head: *mut Node,
    len: u32,
}

struct Cache {
    enabled: bool,
    bins: [Bin; CLASSES],
}

thread_local! {
    static CACHE: UnsafeCell<Cache> = const { UnsafeCell::new(Cache::EMPTY) };
}

/// The global allocator (see the module's documentation).
pub struct CachingAllocator;

impl CachingAllocator {
    /// Caches freed blocks for the calling thread from now on. Blocks cached when the thread ends
    /// are not given back, so this is for the thread that lives as long as the process.
    pub fn cache_this_thread() {
        let _ = CACHE.try_with(|cache| {
            // SAFETY: the cache is this thread's own, and no reference to it outlives this call.
            unsafe { (*cache.get()).enabled = true };
        });
    }
}

/// The class of a block of `size` bytes (at most [`LARGEST`]).
///
/// A small block is classed by the chunk glibc's `malloc` gives for its size, `size` plus the
/// 8-byte header rounded up to 16 (at least 32): so a block is never larger than it would be
/// without the cache, and any block of a class holds any size of that class (glibc's
/// `request2size`, malloc/malloc.c). A large one is rounded up to its class when allocated.
fn class_of(size: usize) -> usize {
    if size < SMALLEST_LARGE {
        let chunk = ((size + 8 + 15) & !15).max(32);
        return chunk / 16 - 2;
    }
    // 2^power >= size > 2^(power - 1); the class is 3/4 of 2^power when that holds the size.
    let power = usize::BITS - (size - 1).leading_zeros();
    let three_quarters = 3usize << (power - 2);
    SMALL_CLASSES + 2 * (power as usize - 11) + usize::from(size > three_quarters)
}

/// How many bytes a block of a large `class` is allocated with; `None` for a small class,
/// whose blocks are allocated with the size asked for.
fn large_class_size(class: usize) -> Option<usize> {
    let large = class.checked_sub(SMALL_CLASSES)?;
    let power = large / 2 + 11;
    Some(if large % 2 == 0 {
        3 << (power - 2)
    } else {
        1 << power
    })
}

/// How many freed blocks of `class` the cache keeps: enough for ten reads in flight of the small
/// ones (glibc keeps seven), a few of the buffers.
fn class_limit(class: usize) -> u32 {
    match class {
        0..=30 => 32,
        31..SMALL_CLASSES => 12,
        _ => 4,
    }
}

/// Whether blocks of `layout` go through the cache (on any thread: a large one is rounded up to
/// its class everywhere, so any such block can be cached wherever it is freed).
fn cacheable(layout: Layout) -> bool {
    layout.size() <= LARGEST && layout.align() <= ALIGN
}

/// The key of cached blocks: an address that varies with the process's layout, so that no
/// data a program writes holds it by chance except by reading it from a freed block.
fn key() -> usize {
    static ANCHOR: u8 = 0;
    (&raw const ANCHOR as usize) ^ 0x5a5a_a5a5_c3c3_3c3c
}

/// glibc's `PROTECT_PTR`: a link is stored xor-ed with its own address shifted by a page, so a
/// write through a dangling pointer cannot plant a chosen address in the cache. The same xor
/// turns a stored link back into the address.
fn mangle(position: *mut Node, link: usize) -> usize {
    ((position as usize) >> 12) ^ link
}

/// Heap corruption the cache found; the allocator ends the process on it.
#[derive(Debug, PartialEq, Eq)]
struct Corruption(&'static str);

fn corrupted(Corruption(what): Corruption) -> ! {
    // No allocation, no formatting: the heap cannot be trusted any more.
    let message = b"terraform-provider-atlas: heap corruption detected: ";
    // SAFETY: writing whole buffers to descriptor 2; the result does not matter, we abort.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::write(2, what.as_ptr().cast(), what.len());
        libc::write(2, b"\n".as_ptr().cast(), 1);
    }
    std::process::abort()
}

impl Cache {
    const EMPTY: Cache = Cache {
        enabled: false,
        bins: [Bin {
            head: ptr::null_mut(),
            len: 0,
        }; CLASSES],
    };

    /// A cached block of `class`, or null if there is none.
    ///
    /// # Safety
    /// The bins hold only blocks pushed by [`Cache::push`], unused since.
    unsafe fn pop(&mut self, class: usize) -> Result<*mut u8, Corruption> {
        let bin = &mut self.bins[class];
        let node = bin.head;
        if node.is_null() {
            return Ok(ptr::null_mut());
        }
        // SAFETY: `node` is a cached block of at least 24 bytes, owned by the cache.
        unsafe {
            let next = mangle(node, (*node).next);
            if !next.is_multiple_of(ALIGN) {
                return Err(Corruption("a freed block was written to"));
            }
            bin.head = next as *mut Node;
            bin.len -= 1;
            (*node).key = 0;
        }
        Ok(node.cast())
    }

    /// Keeps `block` (of `class`) if its bin has room; false if it does not.
    ///
    /// # Safety
    /// `block` was allocated for `class` and is no longer used, or is one this cache holds
    /// (a block freed twice, which this finds).
    unsafe fn push(&mut self, class: usize, block: *mut u8) -> Result<bool, Corruption> {
        if !(block as usize).is_multiple_of(ALIGN) {
            return Err(Corruption(
                "a block freed at an address malloc never returns",
            ));
        }
        let key = key();
        let node = block.cast::<Node>();
        // SAFETY: the block is at least 24 bytes and 16-aligned; it is ours now.
        unsafe {
            if (*node).key == key && self.holds(node) {
                return Err(Corruption("a block freed twice"));
            }
            let bin = &mut self.bins[class];
            if bin.len >= class_limit(class) {
                return Ok(false);
            }
            (*node).next = mangle(node, bin.head as usize);
            (*node).key = key;
            bin.head = node;
            bin.len += 1;
        }
        Ok(true)
    }

    /// Whether `node` is in a bin.
    ///
    /// # Safety
    /// The bins hold only blocks pushed by [`Cache::push`].
    unsafe fn holds(&self, node: *mut Node) -> bool {
        self.bins.iter().any(|bin| {
            let mut cursor = bin.head;
            while !cursor.is_null() && cursor != node {
                // SAFETY: as in `pop`.
                cursor = unsafe { mangle(cursor, (*cursor).next) as *mut Node };
                if !(cursor as usize).is_multiple_of(ALIGN) {
                    return false;
                }
            }
            cursor == node
        })
    }
}

/// Runs `f` on this thread's cache if it caches; `None` on threads that do not, and while the
/// thread is ending.
fn with_cache<R>(f: impl FnOnce(&mut Cache) -> R) -> Option<R> {
    CACHE
        .try_with(|cache| {
            // SAFETY: the cache is this thread's own; the allocator does not re-enter itself,
            // so this is the only reference to it.
            let cache = unsafe { &mut *cache.get() };
            cache.enabled.then(|| f(cache))
        })
        .ok()
        .flatten()
}

/// A block of `class` from this thread's cache; null when it has none or does not cache. Ends
/// the process on a corrupted cache.
fn cached_block(class: usize) -> *mut u8 {
    // SAFETY: the bins hold only pushed blocks.
    match with_cache(|cache| unsafe { cache.pop(class) }) {
        Some(Ok(block)) => block,
        Some(Err(corruption)) => corrupted(corruption),
        None => ptr::null_mut(),
    }
}

/// What to ask `malloc` for a new block of `class`: a large class's whole size, so that the block
/// can serve any size of its class once cached; a small block's own size.
fn malloc_size(class: usize, layout: Layout) -> usize {
    large_class_size(class).unwrap_or(layout.size())
}

// SAFETY: every block comes from `malloc` (through `System`) with at least the layout's size and
// alignment, and goes back to `free` or to this thread's cache, whose blocks are handed out only
// for layouts of the same class.
unsafe impl GlobalAlloc for CachingAllocator {
    // None of the four is inlined into every allocating call site: the cache's code is larger
    // than a call to `malloc`, and the executable would grow by a quarter of a megabyte.
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !cacheable(layout) {
            // SAFETY: the caller's layout, passed through.
            return unsafe { System.alloc(layout) };
        }
        let class = class_of(layout.size());
        let cached = cached_block(class);
        if !cached.is_null() {
            return cached;
        }
        // SAFETY: `malloc` aligns to 16, which covers this layout's alignment.
        unsafe { libc::malloc(malloc_size(class, layout)).cast() }
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !cacheable(layout) {
            // SAFETY: the caller's layout, passed through.
            return unsafe { System.alloc_zeroed(layout) };
        }
        let class = class_of(layout.size());
        let cached = cached_block(class);
        if !cached.is_null() {
            // SAFETY: the block has at least `layout.size()` bytes.
            unsafe { ptr::write_bytes(cached, 0, layout.size()) };
            return cached;
        }
        // SAFETY: as in `alloc`.
        unsafe { libc::calloc(1, malloc_size(class, layout)).cast() }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if !cacheable(layout) {
            // SAFETY: allocated by `System` with this layout.
            return unsafe { System.dealloc(block, layout) };
        }
        let class = class_of(layout.size());
        // SAFETY: the block was allocated for this class and is the caller's no more.
        match with_cache(|cache| unsafe { cache.push(class, block) }) {
            Some(Ok(true)) => {}
            Some(Err(corruption)) => corrupted(corruption),
            // SAFETY: allocated by `malloc`.
            _ => unsafe { libc::free(block.cast()) },
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with this alignment is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (cacheable(layout), cacheable(new_layout)) {
            (false, false) => {
                // SAFETY: the caller's block and layout, passed through.
                unsafe { System.realloc(block, layout, new_size) }
            }
            (true, true) if class_of(layout.size()) == class_of(new_size) => block,
            _ => {
                // SAFETY: a fresh block for the new layout; the old one holds `layout.size()`
                // bytes, of which the smaller size is copied before it is freed.
                unsafe {
                    let moved = self.alloc(new_layout);
                    if !moved.is_null() {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes every block of `class` can hold.
    fn usable(class: usize) -> usize {
        large_class_size(class).unwrap_or((class + 2) * 16 - 8)
    }

    #[test]
    fn every_size_has_the_smallest_class_that_holds_it() {
        let mut previous_class = 0;
        for size in 1..=LARGEST {
            let class = class_of(size);
            assert!(class < CLASSES, "size {size}");
            assert!(usable(class) >= size, "size {size} in class {class}");
            if class > 0 {
                assert!(
                    usable(class - 1) < size,
                    "size {size} fits class {}",
                    class - 1
                );
            }
            assert!(
                class == previous_class || class == previous_class + 1,
                "size {size}"
            );
            previous_class = class;
        }
        assert_eq!(class_of(LARGEST), CLASSES - 1);
        assert_eq!(usable(CLASSES - 1), LARGEST);
        assert_eq!(usable(class_of(1032)), 1032);
        assert_eq!(usable(class_of(1033)), 1536);
    }

    /// The small classes are glibc's own chunk sizes: a block `malloc` returns for any size of a
    /// class holds every size of that class.
    #[test]
    fn small_classes_match_what_glibc_hands_out() {
        for size in 1..SMALLEST_LARGE {
            // SAFETY: a plain malloc and free of a non-zero size.
            unsafe {
                let block = libc::malloc(size);
                assert!(!block.is_null());
                let usable_size = libc::malloc_usable_size(block);
                libc::free(block);
                assert!(
                    usable_size >= usable(class_of(size)),
                    "malloc({size}) holds {usable_size}, class {} promises {}",
                    class_of(size),
                    usable(class_of(size))
                );
            }
        }
    }

    /// Runs `f` on a new thread whose frees are cached, so the process's other tests keep theirs.
    fn on_caching_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(move || {
            CachingAllocator::cache_this_thread();
            f();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_freed_block_is_handed_out_again_for_its_class_only() {
        on_caching_thread(|| unsafe {
            let a = Layout::from_size_align(100, 8).unwrap();
            let block = CachingAllocator.alloc(a);
            CachingAllocator.dealloc(block, a);
            // Same class (glibc's 112-byte chunk holds 89 to 104 bytes): the same block.
            let same = CachingAllocator.alloc(Layout::from_size_align(104, 16).unwrap());
            assert_eq!(same, block);
            // Another class: another block.
            let other = CachingAllocator.alloc(Layout::from_size_align(105, 8).unwrap());
            assert_ne!(other, block);
            CachingAllocator.dealloc(other, Layout::from_size_align(105, 8).unwrap());
            CachingAllocator.dealloc(same, Layout::from_size_align(104, 16).unwrap());
        });
    }

    #[test]
    fn a_bin_keeps_at_most_its_limit_and_frees_the_rest() {
        on_caching_thread(|| unsafe {
            let layout = Layout::from_size_align(8000, 8).unwrap();
            let class = class_of(8000);
            let blocks: Vec<_> = (0..10).map(|_| CachingAllocator.alloc(layout)).collect();
            for &block in &blocks {
                CachingAllocator.dealloc(block, layout);
            }
            let cached = with_cache(|cache| cache.bins[class].len).unwrap();
            assert_eq!(cached, class_limit(class));
            let again: Vec<_> = (0..10).map(|_| CachingAllocator.alloc(layout)).collect();
            let reused = again.iter().filter(|block| blocks.contains(block)).count();
            assert!(reused >= class_limit(class) as usize, "{reused} reused");
            for block in again {
                CachingAllocator.dealloc(block, layout);
            }
        });
    }

    #[test]
    fn zeroed_blocks_are_zero_even_when_they_come_from_the_cache() {
        on_caching_thread(|| unsafe {
            let layout = Layout::from_size_align(64, 8).unwrap();
            let block = CachingAllocator.alloc(layout);
            ptr::write_bytes(block, 0xAB, 64);
            CachingAllocator.dealloc(block, layout);
            let zeroed = CachingAllocator.alloc_zeroed(layout);
            assert_eq!(zeroed, block);
            assert!(
                std::slice::from_raw_parts(zeroed, 64)
                    .iter()
                    .all(|&b| b == 0)
            );
            CachingAllocator.dealloc(zeroed, layout);
        });
    }

    #[test]
    fn blocks_aligned_beyond_sixteen_or_larger_than_the_largest_class_bypass_the_cache() {
        on_caching_thread(|| unsafe {
            let aligned = Layout::from_size_align(64, 64).unwrap();
            let block = CachingAllocator.alloc(aligned);
            assert_eq!(block as usize % 64, 0);
            CachingAllocator.dealloc(block, aligned);
            let big = Layout::from_size_align(LARGEST + 1, 8).unwrap();
            let block = CachingAllocator.alloc(big);
            CachingAllocator.dealloc(block, big);
            let cached: u32 =
                with_cache(|cache| cache.bins.iter().map(|bin| bin.len).sum()).unwrap();
            assert_eq!(cached, 0);
        });
    }

    /// A block of `size` bytes from `malloc`, for the cache tests below (freed by them).
    fn malloc_block(size: usize) -> *mut u8 {
        // SAFETY: a plain malloc of a non-zero size.
        let block = unsafe { libc::malloc(size) }.cast::<u8>();
        assert!(!block.is_null());
        block
    }

    #[test]
    fn a_block_freed_twice_is_found() {
        let mut cache = Cache::EMPTY;
        let (a, b) = (malloc_block(64), malloc_block(64));
        let class = class_of(64);
        unsafe {
            assert_eq!(cache.push(class, a), Ok(true));
            assert_eq!(cache.push(class, b), Ok(true));
            assert_eq!(cache.push(class, a), Err(Corruption("a block freed twice")));
            // Into another class's bin too.
            assert_eq!(
                cache.push(class_of(8), b),
                Err(Corruption("a block freed twice"))
            );
            // A block that holds the key as data but is not cached is kept.
            assert_eq!(cache.pop(class), Ok(b));
            (*b.cast::<Node>()).key = key();
            assert_eq!(cache.push(class, b), Ok(true));
            assert_eq!(cache.pop(class), Ok(b));
            assert_eq!(cache.pop(class), Ok(a));
            libc::free(a.cast());
            libc::free(b.cast());
        }
    }

    #[test]
    fn a_cached_blocks_link_overwritten_is_found_not_followed() {
        let mut cache = Cache::EMPTY;
        let (a, b) = (malloc_block(200), malloc_block(200));
        let class = class_of(200);
        unsafe {
            assert_eq!(cache.push(class, a), Ok(true));
            assert_eq!(cache.push(class, b), Ok(true));
            // A write through a dangling pointer to `b` plants an address that is not a block's.
            (*b.cast::<Node>()).next = mangle(b.cast(), a.add(8) as usize);
            assert_eq!(
                cache.pop(class),
                Err(Corruption("a freed block was written to"))
            );
            libc::free(a.cast());
            libc::free(b.cast());
        }
    }

    #[test]
    fn a_block_freed_at_an_unaligned_address_is_found() {
        let mut cache = Cache::EMPTY;
        let block = malloc_block(64);
        unsafe {
            assert!(cache.push(class_of(64), block.add(8)).is_err());
            libc::free(block.cast());
        }
    }

    /// Random allocations, growths, shrinks and frees, on a caching thread and on one that is
    /// not, each block filled with a pattern of its own that must survive until it is freed.
    #[test]
    fn random_use_keeps_every_blocks_contents() {
        fn exercise(seed: u64) {
            let mut state = seed;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
            for step in 0..20_000u32 {
                let choice = next() % 10;
                if choice < 4 || live.is_empty() {
                    let size = match next() % 4 {
                        0 => 1 + (next() % 64) as usize,
                        1 => 1 + (next() % 1024) as usize,
                        2 => 1 + (next() % LARGEST as u64) as usize,
                        _ => 1 + (next() % (2 * LARGEST as u64)) as usize,
                    };
                    let align = [1, 8, 16, 32][(next() % 4) as usize];
                    let layout = Layout::from_size_align(size, align).unwrap();
                    let fill = (step % 251) as u8;
                    unsafe {
                        let block = if next() % 2 == 0 {
                            CachingAllocator.alloc(layout)
                        } else {
                            let block = CachingAllocator.alloc_zeroed(layout);
                            assert!(
                                std::slice::from_raw_parts(block, size)
                                    .iter()
                                    .all(|&b| b == 0)
                            );
                            block
                        };
                        assert!(!block.is_null());
                        assert_eq!(block as usize % align, 0);
                        ptr::write_bytes(block, fill, size);
                        live.push((block, layout, fill));
                    }
                } else {
                    let index = (next() % live.len() as u64) as usize;
                    let (block, layout, fill) = live.swap_remove(index);
                    unsafe {
                        let contents = std::slice::from_raw_parts(block, layout.size());
                        assert!(contents.iter().all(|&b| b == fill), "block changed");
                        if choice < 7 {
                            let new_size = 1 + (next() % (2 * LARGEST as u64)) as usize;
                            let grown = CachingAllocator.realloc(block, layout, new_size);
                            assert!(!grown.is_null());
                            let kept = layout.size().min(new_size);
                            let contents = std::slice::from_raw_parts(grown, kept);
                            assert!(contents.iter().all(|&b| b == fill), "realloc lost data");
                            let new_layout =
                                Layout::from_size_align(new_size, layout.align()).unwrap();
                            ptr::write_bytes(grown, fill, new_size);
                            live.push((grown, new_layout, fill));
                        } else {
                            CachingAllocator.dealloc(block, layout);
                        }
                    }
                }
            }
            for (block, layout, _) in live {
                unsafe { CachingAllocator.dealloc(block, layout) };
            }
        }
        on_caching_thread(|| exercise(0x9e37_79b9_7f4a_7c15));
        exercise(0x2545_f491_4f6c_dd1d);
    }
}
