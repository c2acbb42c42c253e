#include "hanko/pki/error.h"

namespace hanko::pki {

std::string_view error_id_name(ErrorId id) {
  switch (id) {
    case ErrorId::kTruncated: return "truncated";
    case ErrorId::kIndefiniteLength: return "indefinite_length";
    case ErrorId::kNonMinimalLength: return "non_minimal_length";
    case ErrorId::kLengthTooLarge: return "length_too_large";
    case ErrorId::kHighTagNumber: return "high_tag_number";
    case ErrorId::kUnexpectedTag: return "unexpected_tag";
    case ErrorId::kTrailingBytes: return "trailing_bytes";
    case ErrorId::kNonMinimalInteger: return "non_minimal_integer";
    case ErrorId::kNegativeInteger: return "negative_integer";
    case ErrorId::kEmptyInteger: return "empty_integer";
    case ErrorId::kIntegerTooLarge: return "integer_too_large";
    case ErrorId::kBadBoolean: return "bad_boolean";
    case ErrorId::kExplicitDefault: return "explicit_default";
    case ErrorId::kBadBitString: return "bad_bit_string";
    case ErrorId::kBadOid: return "bad_oid";
    case ErrorId::kBadString: return "bad_string";
    case ErrorId::kBadTime: return "bad_time";
    case ErrorId::kUnsortedSet: return "unsorted_set";
    case ErrorId::kEmptySequence: return "empty_sequence";
    case ErrorId::kBadNull: return "bad_null";
    case ErrorId::kUnsupportedVersion: return "unsupported_version";
    case ErrorId::kUnsupportedAlgorithm: return "unsupported_algorithm";
    case ErrorId::kBadAlgorithmParameters: return "bad_algorithm_parameters";
    case ErrorId::kBadPublicKey: return "bad_public_key";
    case ErrorId::kWeakKey: return "weak_key";
    case ErrorId::kBadSignature: return "bad_signature";
    case ErrorId::kAlgorithmMismatch: return "algorithm_mismatch";
    case ErrorId::kDuplicateExtension: return "duplicate_extension";
    case ErrorId::kBadExtension: return "bad_extension";
    case ErrorId::kUnknownCriticalExtension: return "unknown_critical_extension";
    case ErrorId::kBadName: return "bad_name";
    case ErrorId::kBadCrl: return "bad_crl";
  }
  return "unknown";
}

}  // namespace hanko::pki
