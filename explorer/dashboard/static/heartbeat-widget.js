// The page's heartbeat on its own (an invisible widget): a page without a plot in view still
// says, in words, when its kernel has stopped.
export default { render({ model, el }) { heartbeat(model); el.style.display = "none"; } };
