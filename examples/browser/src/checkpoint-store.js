// The current model's checkpoint in IndexedDB, so it survives a reload. One record:
// { bytes (the .safetensors file), textKey (the text it was trained on, or null), step, savedAt }.
const DB = 'lstm-wasm-app';
const STORE = 'checkpoints';
const KEY = 'current';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function transaction(mode, use) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = use(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The stored record, or null. */
export async function loadCheckpoint() {
  return (await transaction('readonly', (s) => s.get(KEY))) ?? null;
}

export async function saveCheckpoint(record) {
  await transaction('readwrite', (s) => s.put(record, KEY));
}
