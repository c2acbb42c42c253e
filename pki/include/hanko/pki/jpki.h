#pragma once
// JPKI basic four information (R14, JPKI 3-1-2): the otherName types 1.2.392.200149.8.5.5.x.
// The RA names them in a request item's subject data; the signer checks the values (its profile
// rules) and writes them into subjectAltName as UTF8Strings.
#include "hanko/pki/oid.h"

namespace hanko::pki::jpki {

inline const Oid kName{"1.2.392.200149.8.5.5.1"};
inline const Oid kNameSubstituted{"1.2.392.200149.8.5.5.2"};
inline const Oid kGender{"1.2.392.200149.8.5.5.3"};
inline const Oid kDateOfBirth{"1.2.392.200149.8.5.5.4"};
inline const Oid kAddress{"1.2.392.200149.8.5.5.5"};
inline const Oid kAddressSubstituted{"1.2.392.200149.8.5.5.6"};

}  // namespace hanko::pki::jpki
