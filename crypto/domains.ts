// Signature domains: every signed structure has its own prefix, so a signature made for one kind of
// object can never be replayed as another (Hypercore style).
export const SignatureDomain = {
  nodeCertificate: 'node-cert',
  userCertificate: 'user-cert',
  signedObject: 'signed-object',
  notification: 'notification',
  receipt: 'receipt',
} as const;

export type SignatureDomainName = (typeof SignatureDomain)[keyof typeof SignatureDomain];
