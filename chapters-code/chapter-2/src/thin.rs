//! Thin shared slices and strings: the length lives in the allocation, so the
//! handle is one word instead of the two of `Arc<[T]>` and `Arc<str>`.
//!
//! For a `u64` the compact header saves nothing on glibc (see the chapter's
//! memory table); for many small strings the saving is real: every handle
//! held in a vector, a map or a struct is 8 bytes instead of 16. The price is
//! one more memory access to learn the length.

use loom_facade::sync::atomic::{AtomicUsize, Ordering, fence};
use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;

// ANCHOR: header
/// The start of every allocation: the count and the number of elements. The
/// elements follow, at the first offset their alignment allows.
struct Header {
    count: AtomicUsize,
    len: usize,
}

/// The count at which `clone` aborts, as in [`crate::CompactArc`].
const MAX_COUNT: usize = isize::MAX as usize;

/// A shared, immutable slice behind a one-word handle.
///
/// ```
/// use chapter_2::ThinSlice;
/// let a = ThinSlice::from_slice(&[1u32, 2, 3]);
/// let b = a.clone();
/// assert_eq!(&*b, &[1, 2, 3]);
/// assert_eq!(std::mem::size_of::<ThinSlice<u32>>(), 8);
/// assert_eq!(std::mem::size_of::<Option<ThinSlice<u32>>>(), 8);
/// ```
///
/// Like [`crate::CompactArc`], it is `Send` and `Sync` only for
/// `T: Send + Sync`:
///
/// ```compile_fail,E0277
/// fn send<T: Send>(_: T) {}
/// send(chapter_2::ThinSlice::from_slice(&[std::cell::Cell::new(1)]));
/// ```
///
/// ```compile_fail,E0277
/// fn share<T: Sync>(_: &T) {}
/// share(&chapter_2::ThinSlice::from_slice(&[std::rc::Rc::new(1)]));
/// ```
pub struct ThinSlice<T> {
    /// Never null; the allocation holds a `Header` and then `len` `T`s, and
    /// stays live while this handle owns its unit of the count. The pointer
    /// comes straight from `alloc`, so it may address the whole allocation.
    ptr: NonNull<Header>,
    /// A `ThinSlice<T>` owns `T`s: covariant in `T` (the pointer does not
    /// name it), and the drop checker stays right if `Drop` is ever relaxed.
    phantom: PhantomData<T>,
}

// SAFETY: as for `CompactArc`: another thread may read the `T`s through
// `&[T]` (needs `T: Sync`) and drop them with the last handle (`T: Send`).
unsafe impl<T: Send + Sync> Send for ThinSlice<T> {}
// SAFETY: a shared handle can be cloned, so the same bounds apply.
unsafe impl<T: Send + Sync> Sync for ThinSlice<T> {}
// ANCHOR_END: header

/// Frees an allocation when dropped: keeps a panic in the middle of building
/// or dropping the elements from leaking the block.
struct FreeOnDrop {
    base: *mut u8,
    layout: Layout,
}

impl Drop for FreeOnDrop {
    fn drop(&mut self) {
        // SAFETY: `base` was returned by `alloc(layout)` and is freed only
        // here, once.
        unsafe { dealloc(self.base, self.layout) }
    }
}

impl<T> ThinSlice<T> {
    // ANCHOR: layout
    /// The layout of an allocation for `len` elements, and the offset of the
    /// first element. `None` if it would exceed `isize::MAX` bytes.
    fn layout(len: usize) -> Option<(Layout, usize)> {
        let (layout, offset) = Layout::new::<Header>().extend(Layout::array::<T>(len).ok()?).ok()?;
        Some((layout.pad_to_align(), offset))
    }

    /// Allocates room for `len` elements and fills it from `items`, which
    /// must yield at least `len` of them (extra ones are not taken).
    fn build(len: usize, mut items: impl Iterator<Item = T>) -> Self {
        // A slice that exists in memory is at most `isize::MAX` bytes; with
        // the 16-byte header it could only overflow within 16 bytes of it.
        let (layout, offset) = Self::layout(len).expect("capacity overflow");
        // SAFETY: `layout` has a non-zero size (the header).
        let base = unsafe { alloc(layout) };
        if base.is_null() {
            handle_alloc_error(layout);
        }
        // If producing an element panics, drop the ones written and free.
        struct Partial<T> {
            elems: *mut T,
            written: usize,
            _free: FreeOnDrop,
        }
        impl<T> Drop for Partial<T> {
            fn drop(&mut self) {
                // SAFETY: exactly the first `written` elements were written.
                unsafe { std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.elems, self.written)) }
            }
        }
        // SAFETY: `offset` is inside the allocation (or at its end when the
        // elements take no room).
        let elems = unsafe { base.add(offset) }.cast::<T>();
        let mut partial = Partial { elems, written: 0, _free: FreeOnDrop { base, layout } };
        while partial.written < len {
            let Some(item) = items.next() else {
                // Our callers pass exact iterators; this cannot happen, but
                // if it did, the guard frees what was built.
                unreachable!("ThinSlice::build: the iterator ended early")
            };
            // SAFETY: element `written` is inside the allocation, suitably
            // aligned (`Layout::extend`), and not yet written.
            unsafe { elems.add(partial.written).write(item) };
            partial.written += 1;
        }
        std::mem::forget(partial);
        let header = base.cast::<Header>();
        // SAFETY: the header sits at offset 0, aligned for `Header`.
        unsafe { header.write(Header { count: AtomicUsize::new(1), len }) };
        // SAFETY: `alloc` did not return null (checked above).
        ThinSlice { ptr: unsafe { NonNull::new_unchecked(header) }, phantom: PhantomData }
    }
    // ANCHOR_END: layout

    /// A shared copy of `items`, each element cloned.
    ///
    /// # Panics
    ///
    /// If `T::clone` panics; the elements cloned so far are dropped and the
    /// allocation is freed. Also, with "capacity overflow", if the block would
    /// exceed `isize::MAX` bytes, which only a slice within 16 bytes of that
    /// size could cause (as `Vec` does for the same request).
    pub fn from_slice(items: &[T]) -> Self
    where
        T: Clone,
    {
        Self::build(items.len(), items.iter().cloned())
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle keeps the allocation live; only shared
        // references to the header are made while it may be shared.
        unsafe { self.ptr.as_ref() }
    }

    fn elems(&self) -> *mut T {
        let offset = Self::layout(0).map_or(0, |(_, offset)| offset);
        // SAFETY: the elements start at `offset`, inside the allocation.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(offset) }.cast::<T>()
    }

    /// The number of elements (read from the allocation).
    pub fn len(&self) -> usize {
        self.header().len
    }

    /// `true` when the slice has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of handles, at some recent moment (see
    /// [`crate::CompactArc::strong_count`]).
    pub fn strong_count(this: &Self) -> usize {
        // Relaxed: informative only.
        this.header().count.load(Ordering::Relaxed)
    }

    /// `true` when both handles point to the same allocation.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.ptr == other.ptr
    }

    /// The elements, mutably, if this is the only handle.
    pub fn get_mut(this: &mut Self) -> Option<&mut [T]> {
        // Acquire, as in `CompactArc::get_mut`: pairs with the Release
        // decrements of the handles dropped before.
        if this.header().count.load(Ordering::Acquire) != 1 {
            return None;
        }
        let len = this.len();
        // SAFETY: the only handle, held by `&mut`: no other reference to the
        // elements exists or can be made while the borrow lives.
        Some(unsafe { std::slice::from_raw_parts_mut(this.elems(), len) })
    }
}

impl<T> Deref for ThinSlice<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised elements start at `elems()`, and stay
        // unchanged and live while this handle exists.
        unsafe { std::slice::from_raw_parts(self.elems(), self.len()) }
    }
}

impl<T> Clone for ThinSlice<T> {
    fn clone(&self) -> Self {
        // Relaxed: see `CompactArc::clone`.
        if self.header().count.fetch_add(1, Ordering::Relaxed) > MAX_COUNT {
            std::process::abort();
        }
        ThinSlice { ptr: self.ptr, phantom: PhantomData }
    }
}

// ANCHOR: thin_drop
impl<T> Drop for ThinSlice<T> {
    fn drop(&mut self) {
        // Release, then an Acquire fence on the last handle: see
        // `CompactArc`'s `Drop`.
        if self.header().count.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        fence(Ordering::Acquire);
        let len = self.len();
        let (layout, _) = Self::layout(len).expect("the layout was valid when the slice was built");
        let base = self.ptr.as_ptr();
        // Frees the block even if an element's `drop` panics.
        let _free = FreeOnDrop { base: base.cast(), layout };
        // SAFETY: the last handle: nothing else reads the elements or the
        // header, and the fence ordered every earlier access before this.
        // Each is dropped exactly once, then the block is freed by `_free`.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.elems(), len));
            std::ptr::drop_in_place(base);
        }
    }
}
// ANCHOR_END: thin_drop

impl<T: Clone> From<&[T]> for ThinSlice<T> {
    fn from(items: &[T]) -> Self {
        ThinSlice::from_slice(items)
    }
}

impl<T> From<Vec<T>> for ThinSlice<T> {
    fn from(mut items: Vec<T>) -> Self {
        let len = items.len();
        // SAFETY: the vector's length is set to 0 first, so if anything
        // panics the vector does not drop the elements; `build` then moves
        // each one out exactly once with `read`.
        unsafe {
            items.set_len(0);
            let src = items.as_ptr();
            Self::build(len, (0..len).map(|i| src.add(i).read()))
        }
    }
}

impl<T> FromIterator<T> for ThinSlice<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        ThinSlice::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T: fmt::Debug> fmt::Debug for ThinSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: PartialEq> PartialEq for ThinSlice<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for ThinSlice<T> {}

impl<T: Hash> Hash for ThinSlice<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

// ANCHOR: thin_str
/// A shared, immutable string behind a one-word handle: a [`ThinSlice<u8>`]
/// that always holds UTF-8.
///
/// ```
/// use chapter_2::ThinStr;
/// let name = ThinStr::from("compact");
/// let again = name.clone();
/// assert_eq!(&*again, "compact");
/// assert_eq!(again.to_uppercase(), "COMPACT"); // `Deref<Target = str>`
/// assert_eq!(std::mem::size_of::<ThinStr>(), 8);
/// assert_eq!(std::mem::size_of::<std::sync::Arc<str>>(), 16);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ThinStr(ThinSlice<u8>);
// ANCHOR_END: thin_str

impl ThinStr {
    /// The string.
    pub fn as_str(&self) -> &str {
        self
    }

    /// The number of handles, at some recent moment.
    pub fn strong_count(this: &Self) -> usize {
        ThinSlice::strong_count(&this.0)
    }

    /// `true` when both handles point to the same allocation.
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        ThinSlice::ptr_eq(&this.0, &other.0)
    }
}

impl Deref for ThinStr {
    type Target = str;

    fn deref(&self) -> &str {
        // SAFETY: a `ThinStr` is only ever built from a `&str` or a `String`
        // (see the `From` impls), and its bytes are never changed.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}

impl From<&str> for ThinStr {
    fn from(s: &str) -> Self {
        ThinStr(ThinSlice::from_slice(s.as_bytes()))
    }
}

impl From<String> for ThinStr {
    fn from(s: String) -> Self {
        ThinStr::from(s.as_str())
    }
}

impl Borrow<str> for ThinStr {
    fn borrow(&self) -> &str {
        self
    }
}

impl AsRef<str> for ThinStr {
    fn as_ref(&self) -> &str {
        self
    }
}

impl PartialEq<str> for ThinStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ThinStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

// Hashes like `str`, so that `Borrow<str>` lookups in a `HashMap` work.
impl Hash for ThinStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for ThinStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ThinStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}
