#pragma once
// The few DER structures the PKCS#11 layer produces: public key infos and ECDSA signatures.
// Internal to hanko::hsm; certificate-level DER lives in hanko::pki.
#include <cstddef>
#include <cstdint>

#include "hanko/pki/bytes.h"

namespace hanko::hsm::der {

// namedCurve parameters exactly as PKCS#11 CKA_EC_PARAMS holds them (DER OBJECT IDENTIFIER).
// prime256v1 OBJECT IDENTIFIER ::= { 1 2 840 10045 3 1 7 }
inline constexpr std::uint8_t kP256Params[] = {0x06, 0x08, 0x2A, 0x86, 0x48,
                                               0xCE, 0x3D, 0x03, 0x01, 0x07};
// secp384r1 OBJECT IDENTIFIER ::= { 1 3 132 0 34 }
inline constexpr std::uint8_t kP384Params[] = {0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
// with rsaEncryption, NULL parameters and RSAPublicKey ::= SEQUENCE { modulus, publicExponent }.
Bytes rsa_public_key_info(BytesView modulus, BytesView public_exponent);

// SubjectPublicKeyInfo with id-ecPublicKey and the curve OID (curve_params, a DER OID) as
// namedCurve; point is the uncompressed point 04 || X || Y.
Bytes ec_public_key_info(BytesView curve_params, BytesView point);

// CKA_EC_POINT as found: SoftHSMv2 wraps the point in a DER OCTET STRING, some modules do not.
// Returns the bare uncompressed point of point_size bytes or throws Error(KeyUnsupported).
Bytes ec_point(BytesView attribute, std::size_t point_size);

// Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } from PKCS#11's r || s (equal halves).
Bytes ecdsa_signature(BytesView r_and_s);

// DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING } for
// SHA-256/384/512 chosen by digest length, as CKM_RSA_PKCS expects it.
Bytes digest_info(BytesView digest);

}  // namespace hanko::hsm::der
