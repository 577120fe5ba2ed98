// Results held back under a backlog (binding/job_inbox.hpp) still reach their callers when
// every token thread is stuck in a slow call: the token threads' clock hands them on. Two token
// threads (EKMS_PKCS11_THREADS, read when this process first uses them), and the fault module
// makes every C_Decrypt wait 400 ms, as an HSM across a network might when it stalls, while
// SoftHSM2's own HMAC takes microseconds. (HMAC on a token key always goes to the token threads;
// a token's signatures may run on the event loop's thread instead, or wait a turn for it.)
//
// 100 MACs are asked for, then 2 decryptions (one per thread: both threads stall), then 100 more
// MACs (a backlog all along). Results of the first 100 that were held when the threads stalled
// would otherwise wait for the next result, a decryption's, and go in its batch. So the check is
// the turn of the event loop each call settles in: every one of the first 100 MACs settles in an
// earlier turn than either decryption.
import t from 'tap';

import { softhsmOptions } from '../helpers/softhsm.js';
import { faultPlan, openOnToken } from './helpers.js';

process.env.EKMS_PKCS11_THREADS = '2';

t.test('held results reach their callers while every token thread is in a slow call', async (tt) => {
  const fault = faultPlan('C_Decrypt=SLEEP:400000');
  const kms = await openOnToken({ audit: false, pkcs11: { ...softhsmOptions(), module: fault.module } });
  tt.teardown(() => kms.close());
  const macKey = (await kms.createKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })).KeyMetadata!.KeyId!;
  const rsaKey = (await kms.createKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' })).KeyMetadata!.KeyId!;
  const mac = { KeyId: macKey, Message: Buffer.from('fast'), MacAlgorithm: 'HMAC_SHA_256' as const };
  const EncryptionAlgorithm = 'RSAES_OAEP_SHA_1' as const;
  const { CiphertextBlob } = await kms.encrypt({ KeyId: rsaKey, Plaintext: Buffer.from('stalled'), EncryptionAlgorithm });
  await kms.generateMac(mac); // both keys loaded and cached: every call below goes straight to the threads

  let turn = 0;
  let spinning = true;
  const spin = () => {
    turn++;
    if (spinning) setImmediate(spin);
  };
  spin();
  const settled = (p: Promise<unknown>) => p.then(() => turn);
  const before = Array.from({ length: 100 }, () => settled(kms.generateMac(mac)));
  const stalls = Array.from({ length: 2 }, () => settled(kms.decrypt({ KeyId: rsaKey, CiphertextBlob, EncryptionAlgorithm })));
  const after = Array.from({ length: 100 }, () => settled(kms.generateMac(mac)));
  const [b, s] = await Promise.all([Promise.all(before), Promise.all(stalls), Promise.all(after)]);
  spinning = false;

  tt.equal(fault.log().filter((l) => l.startsWith('C_Decrypt ')).length, 2, 'both decryptions were slow');
  const firstStallResult = Math.min(...s);
  const early = b.filter((x) => x < firstStallResult).length;
  tt.equal(early, 100, `${early} of the 100 MACs asked for before the stall settled before it ended (turn ${firstStallResult})`);
});
