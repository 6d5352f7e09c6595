// The storage service as seen through one node's control subject: enough of StorageApi for tools
// that hold keys themselves (`post user add` signs the directory record with the CA and the user's
// records with the new user's keys, then has the node store them).
import { ErrorCodes, PostError } from '../protocol/errors';
import { ObjectGetRequest, ObjectPutRequest } from '../protocol/control';
import type { ObjectPutResult, StorageApi } from '../storage/api';
import type { SignedObject } from '../storage/signedObject';
import { decodeSignedObject } from '../storage/signedObjectCodec';
import { OperatorError } from './errors';
import type { LabClient } from './client';
import type { LabNode } from './labFile';

const unsupported = (what: string) => () => {
  throw new PostError(ErrorCodes.BAD_REQUEST, `${what} is not available through a node's control subject`);
};

export function controlStorage(client: LabClient, node: LabNode): StorageApi {
  return {
    async getObject(objectId: string): Promise<SignedObject | undefined> {
      try {
        const r = await client.controlRaw(node, ObjectGetRequest.encode({ objectId }));
        if (!r.data) return undefined;
        const d = decodeSignedObject(r.data);
        if (!d.ok) throw new PostError(d.code, d.message);
        return d.value;
      } catch (e) {
        if (e instanceof OperatorError && /NOT_FOUND/.test(e.message)) return undefined;
        throw e;
      }
    },
    async putObject(object: SignedObject, replacesSeq: number): Promise<ObjectPutResult> {
      const r = await client.controlRaw(node, ObjectPutRequest.encode({ object, replaces: replacesSeq }));
      const j = JSON.parse(r.json ?? '{}');
      if (j.ok) return { ok: true };
      const current = r.data ? decodeSignedObject(r.data) : undefined;
      return { ok: false, code: j.code, message: j.message, ...(current?.ok ? { current: current.value } : {}) };
    },
    putData: unsupported('putData'),
    putMail: unsupported('putMail'),
    mailRefOf: unsupported('mailRefOf'),
    getData: unsupported('getData'),
    readData: unsupported('readData') as StorageApi['readData'],
    putBlock: unsupported('putBlock'),
    getBlock: unsupported('getBlock'),
    refresh: unsupported('refresh'),
  };
}
