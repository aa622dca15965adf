// The application form's checker, from the page or from Node: `chalet check`'s own rules,
// compiled to WebAssembly (form/src). One call: a JSON request in, a JSON answer out; see
// form/src/lib.rs for the requests.

/** Wraps an instantiated checker module. */
export function checker(instance) {
  const e = instance.exports;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    call(request) {
      const bytes = encoder.encode(JSON.stringify(request));
      const at = e.chalet_alloc(bytes.length);
      new Uint8Array(e.memory.buffer, at, bytes.length).set(bytes);
      const answer = e.chalet_call(at, bytes.length);
      // Read after the call: the memory may have grown (a new buffer) meanwhile.
      const length = new DataView(e.memory.buffer).getUint32(answer, true);
      const text = decoder.decode(new Uint8Array(e.memory.buffer, answer + 4, length));
      e.chalet_free(answer, length + 4);
      return JSON.parse(text);
    },
  };
}

/** Loads the checker from `url` (in a browser: streamed, compiled while it downloads). */
export async function loadChecker(url) {
  const { instance } = await WebAssembly.instantiateStreaming(fetch(url), {});
  return checker(instance);
}
