// A third-party IdP for saml-sp's interop test: samlify (npm) parses our AuthnRequest and our SP
// metadata, then issues a signed Response. Usage:
//   node idp.js <redirect|post> <sp-metadata.xml> <idp.key> <idp.crt> <redirect URL | base64 SAMLRequest>
//   node idp.js logout <sp-metadata.xml> <idp.key> <idp.crt> <base64 signed LogoutRequest (POST)>
//   (verifies its signature against the SP metadata's signing certificates; prints
//   {"nameId": "...", "requestId": "..."})
//   (append "signed" to require and verify the AuthnRequest's signature, or "unsigned"; then
//   optionally an XML Encryption content algorithm URI: samlify encrypts the Assertion with it,
//   RSA-OAEP, to the encryption certificate in the SP metadata)
// Prints one JSON line: {"SAMLResponse": "...", "requestId": "...", "acs": "..."}.
'use strict';
const fs = require('fs');
const saml = require('samlify');

saml.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

async function main() {
  const [mode, spMetadata, keyPath, certPath, input, requireSigned, encryptWith] = process.argv.slice(2);
  const sp = saml.ServiceProvider({ metadata: fs.readFileSync(spMetadata) });
  // During an SP key rollover the metadata lists two encryption certificates; samlify handles
  // one, so it encrypts to the first, as IdPs generally do.
  const enc = sp.entityMeta.getX509Certificate('encryption');
  if (Array.isArray(enc)) sp.entityMeta.meta.certificate.encryption = enc[0];
  const idp = saml.IdentityProvider({
    entityID: 'https://samlify-idp.example.com/metadata',
    privateKey: fs.readFileSync(keyPath),
    signingCert: fs.readFileSync(certPath),
    singleSignOnService: [
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://samlify-idp.example.com/sso' },
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://samlify-idp.example.com/sso' },
    ],
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'],
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    // With "signed", samlify refuses an AuthnRequest whose signature it cannot verify against the
    // certificate in our SP metadata.
    wantAuthnRequestsSigned: requireSigned === 'signed',
    isAssertionEncrypted: Boolean(encryptWith),
    dataEncryptionAlgorithm: encryptWith || undefined,
    keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
    // samlify's default template has no AuthnStatement (the Web SSO profile requires one), so use
    // the shape real IdPs send.
    loginResponseTemplate: {
      context: '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}"><saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status><saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}"><saml:Issuer>{Issuer}</saml:Issuer><saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{SubjectConfirmationDataNotOnOrAfter}" Recipient="{SubjectRecipient}" InResponseTo="{InResponseTo}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{ConditionsNotBefore}" NotOnOrAfter="{ConditionsNotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{AssertionID}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="FirstName" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">{FirstName}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>',
      attributes: [],
    },
  });
  if (mode === 'logout') {
    idp.entitySetting.wantLogoutRequestSigned = true;
    const out = await idp.parseLogoutRequest(sp, 'post', { body: { SAMLRequest: input } });
    process.stdout.write(JSON.stringify({ nameId: out.extract.nameID, requestId: out.extract.request.id }) + '\n');
    return;
  }
  let parsed;
  if (mode === 'redirect') {
    const url = new URL(input);
    const query = Object.fromEntries(url.searchParams.entries());
    parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString: url.search.slice(1).split('&Signature=')[0] });
  } else {
    parsed = await idp.parseLoginRequest(sp, 'post', { body: { SAMLRequest: input } });
  }
  const user = { email: 'ada@example.com', firstName: 'Ada' };
  const now = new Date();
  const later = new Date(now.getTime() + 5 * 60 * 1000).toISOString();
  const id = '_' + require('crypto').randomUUID();
  const acs = sp.entityMeta.getAssertionConsumerService('post');
  const values = {
    ID: id,
    AssertionID: '_' + require('crypto').randomUUID(),
    Destination: acs,
    Audience: sp.entityMeta.getEntityID(),
    SubjectRecipient: acs,
    Issuer: idp.entityMeta.getEntityID(),
    IssueInstant: now.toISOString(),
    StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
    ConditionsNotBefore: now.toISOString(),
    ConditionsNotOnOrAfter: later,
    SubjectConfirmationDataNotOnOrAfter: later,
    NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    NameID: user.email,
    InResponseTo: parsed.extract.request.id,
    FirstName: user.firstName,
  };
  const replace = (template) => ({ id, context: saml.SamlLib.replaceTagsByValue(template, values) });
  const { context, entityEndpoint } = await idp.createLoginResponse(sp, parsed, 'post', user, replace);
  process.stdout.write(JSON.stringify({ SAMLResponse: context, requestId: parsed.extract.request.id, acs: entityEndpoint }) + '\n');
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
