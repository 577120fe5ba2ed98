// Node's own crypto doing the same work with a key in memory (a KeyObject made once): the
// "what would it cost to do this in-process without a KMS" baseline. `sync` runs on the main
// thread one at a time; `async` (where Node has one) runs on the libuv thread pool like ours.
import crypto from 'node:crypto';

const { subtle } = crypto.webcrypto;

const curves = {
  ECC_NIST_P256: { namedCurve: 'P-256', hash: 'sha256' },
  ECC_NIST_P384: { namedCurve: 'P-384', hash: 'sha384' },
  ECC_SECG_P256K1: { namedCurve: 'secp256k1', hash: 'sha256' },
};

function signParams(spec, alg) {
  if (curves[spec]) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: curves[spec].namedCurve });
    return { privateKey, publicKey, hash: curves[spec].hash, opts: {} };
  }
  if (spec === 'ECC_NIST_EDWARDS25519') {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    return { privateKey, publicKey, hash: null, opts: {} };
  }
  const bits = Number(/RSA_(\d+)/.exec(spec)[1]);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
  const pss = alg.includes('PSS');
  const hash = `sha${/SHA_(\d+)/.exec(alg)[1]}`;
  const padding = pss ? crypto.constants.RSA_PKCS1_PSS_PADDING : crypto.constants.RSA_PKCS1_PADDING;
  const saltLength = pss ? Number(hash.slice(3)) / 8 : undefined;
  return { privateKey, publicKey, hash, opts: { padding, saltLength } };
}

/** Baseline factories by id; each returns { name, sync, async? }. */
export const nodeBaselines = {
  sign({ spec, alg, message }) {
    const p = signParams(spec, alg);
    const key = { key: p.privateKey, ...p.opts };
    return {
      name: 'node crypto.sign',
      sync: () => crypto.sign(p.hash, message, key),
      async: () => new Promise((res, rej) => crypto.sign(p.hash, message, key, (e, s) => (e ? rej(e) : res(s)))),
    };
  },
  verify({ spec, alg, message }) {
    const p = signParams(spec, alg);
    const sig = crypto.sign(p.hash, message, { key: p.privateKey, ...p.opts });
    const key = { key: p.publicKey, ...p.opts };
    return {
      name: 'node crypto.verify',
      sync: () => {
        if (!crypto.verify(p.hash, message, key, sig)) throw new Error('baseline verify failed');
      },
      async: () =>
        new Promise((res, rej) => crypto.verify(p.hash, message, key, sig, (e, ok) => (e || !ok ? rej(e ?? new Error('bad')) : res()))),
    };
  },
  rsaOaepDecrypt({ spec }) {
    const bits = Number(/RSA_(\d+)/.exec(spec)[1]);
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: bits });
    const opts = { padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
    const ct = crypto.publicEncrypt({ key: publicKey, ...opts }, Buffer.alloc(32, 7));
    const key = { key: privateKey, ...opts };
    return { name: 'node privateDecrypt', sync: () => crypto.privateDecrypt(key, ct) };
  },
  async gcmEncrypt({ size }) {
    const key = crypto.randomBytes(32);
    const pt = crypto.randomBytes(size);
    const wkey = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
    return {
      name: 'node AES-256-GCM',
      sync: () => {
        const iv = crypto.randomBytes(12);
        const c = crypto.createCipheriv('aes-256-gcm', key, iv);
        const out = Buffer.concat([c.update(pt), c.final()]);
        return [out, c.getAuthTag()];
      },
      asyncName: 'node webcrypto AES-GCM',
      async: () => subtle.encrypt({ name: 'AES-GCM', iv: crypto.randomBytes(12) }, wkey, pt),
    };
  },
  async gcmDecrypt({ size }) {
    const key = crypto.randomBytes(32);
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([c.update(crypto.randomBytes(size)), c.final()]);
    const tag = c.getAuthTag();
    const wkey = await subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
    const wct = Buffer.concat([ct, tag]);
    return {
      name: 'node AES-256-GCM',
      sync: () => {
        const d = crypto.createDecipheriv('aes-256-gcm', key, iv);
        d.setAuthTag(tag);
        return Buffer.concat([d.update(ct), d.final()]);
      },
      asyncName: 'node webcrypto AES-GCM',
      async: () => subtle.decrypt({ name: 'AES-GCM', iv }, wkey, wct),
    };
  },
  dataKey() {
    const key = crypto.randomBytes(32);
    return {
      name: 'node randomBytes(32)+AES-GCM seal',
      sync: () => {
        const dk = crypto.randomBytes(32);
        const c = crypto.createCipheriv('aes-256-gcm', key, crypto.randomBytes(12));
        return [dk, c.update(dk), c.final(), c.getAuthTag()];
      },
    };
  },
  async hmac({ size }) {
    const key = crypto.randomBytes(32);
    const msg = crypto.randomBytes(size);
    const wkey = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return {
      name: 'node createHmac',
      sync: () => crypto.createHmac('sha256', key).update(msg).digest(),
      asyncName: 'node webcrypto HMAC',
      async: () => subtle.sign('HMAC', wkey, msg),
    };
  },
};
