import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { makeTempDir } from './temp-dir.js';

/** A running s3rver with one empty bucket. */
export interface S3rverFixture {
  /** `http://127.0.0.1:<port>`; use path-style addressing. */
  endpoint: string;
  bucket: string;
  /** Credentials s3rver accepts (it only knows this pair). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 (a free port) over a fresh temp dir, with a bucket created. */
export async function startS3rver(bucket = 'flowrun-test'): Promise<S3rverFixture> {
  const directory = await makeTempDir('s3rver');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async close() {
      // Keep-alive sockets of clients not yet destroyed would hold close() open.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
