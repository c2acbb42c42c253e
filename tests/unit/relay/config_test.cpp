#include <gtest/gtest.h>

#include "config.h"

using namespace hanko::relay;

TEST(RelayConfig, ParsesAndResolvesPaths) {
  const Config c = Config::parse("state_dir = state\nlisten = 127.0.0.1:9999 # port\nbatch_max_age = 30\n"
                                 "ca_certificate = ca-g1.crt\nca_certificate = /abs/ca-g2.crt\n",
                                 "/etc/relay");
  EXPECT_EQ(c.state_dir, "/etc/relay/state");
  EXPECT_EQ(c.listen_port, 9999);
  EXPECT_EQ(c.batch_max_age.count(), 30);
  ASSERT_EQ(c.ca_certificates.size(), 2u);
  EXPECT_EQ(c.ca_certificates[1], "/abs/ca-g2.crt");
  EXPECT_EQ(c.doc_root, "/etc/relay/state/htdocs");
  EXPECT_EQ(c.public_http_base, "http://127.0.0.1:9999/");
}

TEST(RelayConfig, RefusesUnknownKeysAndBadValues) {
  EXPECT_THROW(Config::parse("state_dir = s\nstate_dri = x\n", "/"), ConfigError);
  EXPECT_THROW(Config::parse("listen = 127.0.0.1:99999\nstate_dir = s\n", "/"), ConfigError);
  EXPECT_THROW(Config::parse("batch_max_items = 0\nstate_dir = s\n", "/"), ConfigError);
  EXPECT_THROW(Config::parse("listen = 1\n", "/"), ConfigError);
  EXPECT_THROW(Config::parse("state_dir = s\nldap_uri = ldap://x/\n", "/"), ConfigError);
}
