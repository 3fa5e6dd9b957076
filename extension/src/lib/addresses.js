/** Email addresses out of whatever Gmail shows: chips' attributes, "Name <addr>" strings, typed text. */

const ADDRESS = /[^\s<>,;:"'()[\]]+@[^\s<>,;:"'()[\]]+\.[^\s<>,;:"'()[\]]+/g;

export function addressesIn(text) {
  return String(text ?? '').match(ADDRESS)?.map((a) => a.replace(/[.]+$/, '')) ?? [];
}

/** Unique addresses, first spelling kept, compared case-insensitively (as the backend does). */
export function uniqueAddresses(values) {
  const seen = new Map();
  for (const value of values) {
    for (const address of addressesIn(value)) {
      const key = address.toLowerCase();
      if (!seen.has(key)) seen.set(key, address);
    }
  }
  return [...seen.values()];
}
