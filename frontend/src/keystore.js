// Certificates kept in this browser: IndexedDB holds, per certificate, the DER certificate and
// the private key as a WebCrypto CryptoKey. A CryptoKey is stored as the browser's own object
// (structured clone), still non-extractable: it can sign here, and can never be read out.

const DATABASE = "backbone-certificates";
const STORE = "certificates";
const VERSION = 1;

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, VERSION);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: "serial" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, work) {
  const database = await open();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = database.transaction(STORE, mode);
      const request = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    database.close();
  }
}

// record: { serial, memberId, subject, algorithm, notAfter, certificate (DER bytes), privateKey }
export function keep(record) {
  return run("readwrite", (store) => store.put(record));
}

export function all() {
  return run("readonly", (store) => store.getAll());
}

export function forget(serial) {
  return run("readwrite", (store) => store.delete(serial));
}

// The newest certificate of this member that is still valid, or null.
export async function usable(memberId) {
  const now = Date.now();
  const candidates = (await all()).filter(
    (record) => (memberId === undefined || record.memberId === memberId) && Date.parse(record.notAfter) > now,
  );
  candidates.sort((left, right) => Date.parse(right.notAfter) - Date.parse(left.notAfter));
  return candidates[0] || null;
}
