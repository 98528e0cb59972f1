// The member's side of Backbone's certificate authority, in the browser: a key pair made by
// WebCrypto (the private key is created non-extractable, so no script, ours included, can ever
// read it out), a PKCS#10 request for it, and CMS SignedData over a document, as
// docs/identity.md describes them: attached content, SHA-256, signed attributes content-type,
// signing-time and message-digest in DER order, the signer's certificate included.
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

const OID = {
  commonName: "2.5.4.3",
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  contentType: "1.2.840.113549.1.9.3",
  messageDigest: "1.2.840.113549.1.9.4",
  signingTime: "1.2.840.113549.1.9.5",
};

export const ALGORITHMS = {
  "ec-p256": { name: "ECDSA", namedCurve: "P-256" },
  "rsa-2048": {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
};

pkijs.setEngine("browser", new pkijs.CryptoEngine({ name: "browser", crypto: globalThis.crypto }));

export async function generateKeyPair(algorithm) {
  const parameters = ALGORITHMS[algorithm];
  if (!parameters) throw new Error(`unknown key algorithm ${algorithm}`);
  // extractable=false applies to the private key; the public key is always exportable.
  return crypto.subtle.generateKey(parameters, false, ["sign", "verify"]);
}

// A PKCS#10 request (DER). The subject is only a label: Backbone writes its own subject.
export async function certificationRequest(keyPair, commonName) {
  const request = new pkijs.CertificationRequest();
  request.version = 0;
  request.subject.typesAndValues.push(
    new pkijs.AttributeTypeAndValue({ type: OID.commonName, value: new asn1js.Utf8String({ value: commonName }) }),
  );
  // PKCS#10 requires the [0] attributes field even when empty; pkijs omits it unless it is set.
  request.attributes = [];
  await request.subjectPublicKeyInfo.importKey(keyPair.publicKey);
  // pkijs turns WebCrypto's raw ECDSA r‖s into the DER SEQUENCE of two INTEGERs X.509 wants.
  await request.sign(keyPair.privateKey, "SHA-256");
  return new Uint8Array(request.toSchema(true).toBER(false));
}

export function pemToDer(pem) {
  const body = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, "");
  return base64ToBytes(body);
}

export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

export function bytesToBase64(bytes) {
  let binary = "";
  const view = new Uint8Array(bytes);
  for (let index = 0; index < view.length; index += 0x8000) {
    binary += String.fromCharCode(...view.subarray(index, index + 0x8000));
  }
  return btoa(binary);
}

function compareBytes(left, right) {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index += 1) {
    if (left[index] !== right[index]) return left[index] - right[index];
  }
  return left.length - right.length;
}

function attribute(type, value) {
  const made = new pkijs.Attribute({ type, values: [value] });
  return { made, encoded: new Uint8Array(made.toSchema().toBER(false)) };
}

// CMS SignedData (DER) over `documentBytes` with the member's key and certificate (DER).
export async function signDocument(documentBytes, privateKey, certificateDer, now = new Date()) {
  const certificate = pkijs.Certificate.fromBER(certificateDer);
  // A signature cannot predate its certificate. The certificate's notBefore and the signing-time
  // attribute both count whole seconds, while the authority records the instant of issuance, so a
  // document signed within the second of issuance (or by a browser whose clock runs a little
  // behind) would claim a time before the certificate existed: sign no earlier than a second
  // after notBefore. The server accepts a signer up to a minute ahead of its own clock.
  const earliest = new Date(certificate.notBefore.value.getTime() + 1000);
  const signingTime = now < earliest ? earliest : now;
  const digest = await crypto.subtle.digest("SHA-256", documentBytes);
  // DER orders a SET OF by the encodings of its members; the signature covers that order, and
  // Backbone refuses attributes in any other.
  const attributes = [
    attribute(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })),
    attribute(OID.signingTime, new asn1js.UTCTime({ valueDate: signingTime })),
    attribute(OID.messageDigest, new asn1js.OctetString({ valueHex: digest })),
  ]
    .sort((left, right) => compareBytes(left.encoded, right.encoded))
    .map((item) => item.made);
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: OID.data,
      eContent: new asn1js.OctetString({ valueHex: documentBytes }),
    }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({
          issuer: certificate.issuer,
          serialNumber: certificate.serialNumber,
        }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes }),
      }),
    ],
    certificates: [certificate],
  });
  // pkijs re-wraps the content as a constructed (chunked, BER) OCTET STRING; DER, which Backbone
  // and openssl's strict parsers read, wants the primitive one.
  signedData.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: documentBytes });
  await signedData.sign(privateKey, 0, "SHA-256");
  const contentInfo = new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) });
  return new Uint8Array(contentInfo.toSchema().toBER(false));
}

// What the portal shows about a certificate kept in this browser.
export function describeCertificate(certificateDer) {
  const certificate = pkijs.Certificate.fromBER(certificateDer);
  const serial = [...new Uint8Array(certificate.serialNumber.valueBlock.valueHexView)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  return { serialHex: serial, notAfter: certificate.notAfter.value };
}
