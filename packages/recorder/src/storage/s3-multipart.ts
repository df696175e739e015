/**
 * Uploads a local file to S3 in parts read straight from disk into a fixed set of reusable buffers, so memory
 * stays at concurrency × partSize whatever the file size. (@aws-sdk/lib-storage copies every part out of a
 * stream's chunks; for a 1 GB file the garbage awaiting GC grew RSS by 67-108 MB.) Each request is retried by
 * the client's own retry strategy: a Buffer body can be sent again.
 */
import { open } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

/** The object's bucket, key and headers (ContentType, Metadata, Tagging, ContentDisposition...). */
export interface ObjectParams {
  Bucket: string;
  Key: string;
  ContentType?: string;
  ContentDisposition?: string;
  Metadata?: Record<string, string>;
  Tagging?: string;
}

export async function uploadFileInParts(
  client: S3Client,
  params: ObjectParams,
  localPath: string,
  partSize: number,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  const fh = await open(localPath, 'r');
  try {
    const { size } = await fh.stat();
    if (size <= partSize) {
      const body = Buffer.alloc(size);
      await fh.read(body, 0, size, 0);
      await client.send(new PutObjectCommand({ ...params, Body: body }), { abortSignal: signal });
      return;
    }
    const { UploadId } = await client.send(new CreateMultipartUploadCommand(params), { abortSignal: signal });
    const parts: CompletedPart[] = [];
    try {
      const count = Math.ceil(size / partSize);
      let next = 0;
      let failure: { error: unknown } | undefined;
      // Each worker owns one buffer and uploads the parts it claims, one at a time; the first failure stops all.
      const worker = async () => {
        const buffer = Buffer.allocUnsafe(partSize);
        try {
          for (let i = next++; i < count && !failure; i = next++) {
            const length = Math.min(partSize, size - i * partSize);
            const { bytesRead } = await fh.read(buffer, 0, length, i * partSize);
            if (bytesRead !== length) throw new Error(`${localPath}: short read at part ${i + 1} (file changed?)`);
            const { ETag } = await client.send(
              new UploadPartCommand({
                Bucket: params.Bucket,
                Key: params.Key,
                UploadId,
                PartNumber: i + 1,
                Body: buffer.subarray(0, length),
                ContentLength: length,
              }),
              { abortSignal: signal },
            );
            parts.push({ PartNumber: i + 1, ETag });
          }
        } catch (error) {
          failure ??= { error };
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
      if (failure) throw failure.error;
      parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: params.Bucket,
          Key: params.Key,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      // Best effort: parts of an aborted upload would otherwise be stored (and billed) until a lifecycle rule.
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  } finally {
    await fh.close();
  }
}
