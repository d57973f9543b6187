//! Keyboard movement inside a `tablist` of links: only the selected tab is in the tab order
//! (tabindex 0), so the arrow keys, Home and End move the focus between the tabs, as the ARIA
//! tabs pattern expects. Following a tab is following its link.

use leptos::ev::KeyboardEvent;

/// The keydown handler of a tablist whose children are the tabs.
pub fn move_between_tabs(ev: KeyboardEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(current) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
            return;
        };
        let Some(list) = current.parent_element() else { return };
        let target = match ev.key().as_str() {
            "ArrowRight" => current.next_element_sibling().or_else(|| list.first_element_child()),
            "ArrowLeft" => current.previous_element_sibling().or_else(|| list.last_element_child()),
            "Home" => list.first_element_child(),
            "End" => list.last_element_child(),
            _ => return,
        };
        ev.prevent_default();
        if let Some(el) = target.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}
