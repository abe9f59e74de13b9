//! The fixed family: children point back to their parent with `Weak`.

// ANCHOR: weak_family
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// A parent that owns its children; each child refers back with a `Weak`,
/// which does not keep the parent alive. Dropping the family frees everyone.
#[derive(Debug)]
pub struct Family {
    /// The root of the family.
    pub parent: Rc<Person>,
}

/// A member of a [`Family`].
#[derive(Debug)]
pub struct Person {
    /// The person's name.
    pub name: String,
    /// Weak link up: does not own the parent.
    pub parent: RefCell<Weak<Person>>,
    /// Strong links down.
    pub children: RefCell<Vec<Rc<Person>>>,
}

impl Family {
    /// A parent with `children` children.
    pub fn new(children: usize) -> Self {
        let parent = Rc::new(Person::named("parent".to_owned()));
        for i in 0..children {
            let child = Rc::new(Person::named(format!("child {i}")));
            *child.parent.borrow_mut() = Rc::downgrade(&parent);
            parent.children.borrow_mut().push(child);
        }
        Family { parent }
    }
}
// ANCHOR_END: weak_family

impl Person {
    fn named(name: String) -> Self {
        Person { name, parent: RefCell::new(Weak::new()), children: RefCell::new(Vec::new()) }
    }

    /// This person's parent, if they have one and it is still alive.
    pub fn parent(&self) -> Option<Rc<Person>> {
        self.parent.borrow().upgrade()
    }
}
