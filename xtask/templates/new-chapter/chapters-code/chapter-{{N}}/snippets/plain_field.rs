// The first cell one writes, before reaching for an atomic: a plain field,
// set through `&self`. It is not part of the crate: book-outputs.toml
// compiles it with rustc alone to show the error. SCAFFOLD: the stand-in's.
// ANCHOR: snippet
pub struct {{Type}}<T> {
    value: Option<Box<T>>,
}

impl<T> {{Type}}<T> {
    pub fn set(&self, value: T) -> Result<(), T> {
        if self.value.is_some() {
            return Err(value);
        }
        self.value = Some(Box::new(value));
        Ok(())
    }
}
// ANCHOR_END: snippet
