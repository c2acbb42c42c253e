#include "hanko/transfer/batch.h"

#include "hanko/pki/der.h"

namespace hanko::transfer {

using namespace hanko::pki;

namespace {

[[noreturn]] void bad(const std::string& what, const std::string& detail) {
  throw ParseError(ErrorId::kUnexpectedTag,
                   what + ": " + detail);
}

std::string read_utf8(der::Reader& r, std::string_view what, std::size_t max, der::Tag tag = der::kUtf8String) {
  const BytesView c = r.read(tag, what).content;
  std::string s(c.begin(), c.end());
  if (s.empty() || s.size() > max || !der::is_valid_utf8(s)) {
    throw ParseError(ErrorId::kBadString, std::string(what) + ": must be 1-" + std::to_string(max) + " bytes of UTF-8");
  }
  return s;
}

void write_action(der::Writer& w, const RequestItem& item) {
  if (item.issue.has_value() == item.revoke.has_value()) throw BuildError("a request item holds exactly one action");
  if (item.issue) {
    const IssueAction& a = *item.issue;
    w.constructed(der::context_constructed(0), [&](der::Writer& s) {
      s.utf8_string(a.profile);
      s.raw(a.request);
      if (!a.partition.empty()) s.primitive(der::context(0), view(a.partition));
      if (!a.subject_data.empty()) {
        s.constructed(der::context_constructed(1), [&](der::Writer& list) {
          for (const auto& entry : a.subject_data) {
            list.sequence([&](der::Writer& e) {
              entry.first.write(e);
              e.utf8_string(entry.second);
            });
          }
        });
      }
    });
  } else {
    const RevokeAction& a = *item.revoke;
    w.constructed(der::context_constructed(1), [&](der::Writer& s) {
      a.serial.write(s);
      s.integer(static_cast<std::int64_t>(a.reason), der::kEnumerated);
      if (a.invalidity_date) write_generalized_time(s, *a.invalidity_date);
    });
  }
}

RequestItem read_item(der::Reader& r) {
  RequestItem item;
  der::Reader s = r.enter_sequence("RequestItem");
  item.item_id = read_utf8(s, "itemId", 64);
  item.ra_operator = read_utf8(s, "raOperator", 64);
  item.created = read_generalized_time(s, "created");
  if (auto issue = s.enter_optional(der::context_constructed(0), "issue")) {
    IssueAction a;
    a.profile = read_utf8(*issue, "profile", 64);
    const der::Element request = issue->read(der::kSequence, "request");
    a.request.assign(request.whole.begin(), request.whole.end());
    if (issue->peek(der::context(0))) a.partition = read_utf8(*issue, "partition", 32, der::context(0));
    if (auto data = issue->enter_optional(der::context_constructed(1), "subjectData")) {
      while (!data->at_end()) {
        der::Reader e = data->enter_sequence("subjectData");
        Oid type = Oid::read(e, "subjectData type");
        a.subject_data.emplace_back(std::move(type), read_utf8(e, "subjectData value", 1024));
        e.expect_end("subjectData");
        if (a.subject_data.size() > 16) bad("subjectData", "more than 16 values");
      }
    }
    issue->expect_end("issue");
    item.issue = std::move(a);
  } else {
    der::Reader revoke = s.enter(der::context_constructed(1), "action");
    RevokeAction a;
    a.serial = Serial::read(revoke, "serial");
    const std::int64_t reason = revoke.read_small_integer(der::kEnumerated, "reason");
    if (reason < 0 || reason > 10 || reason == 7) bad("reason", "unknown revocation reason " + std::to_string(reason));
    a.reason = static_cast<ReasonCode>(reason);
    if (revoke.peek(der::kGeneralizedTime)) a.invalidity_date = read_generalized_time(revoke, "invalidityDate");
    revoke.expect_end("revoke");
    item.revoke = a;
  }
  s.expect_end("RequestItem");
  return item;
}

}  // namespace

Bytes encode_request_item(const RequestItem& item) {
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.utf8_string(item.item_id);
    s.utf8_string(item.ra_operator);
    write_generalized_time(s, item.created);
    write_action(s, item);
  });
  Bytes der = std::move(w).take();
  der::Reader check(der);
  read_item(check);  // the same limits the signer applies
  check.expect_end("RequestItem");
  return der;
}

Bytes sign_request_item(const RequestItem& item, Signer& ra_signer) {
  const Bytes item_der = encode_request_item(item);
  const Bytes signature = ra_signer.sign(item_der);
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.raw(item_der);
    write_algorithm_identifier(s, ra_signer.algorithm());
    s.bit_string(signature);
  });
  return std::move(w).take();
}

Bytes encode_request_batch(BytesView batch_id, Time created, const std::vector<Bytes>& signed_items) {
  if (batch_id.size() != 16) throw BuildError("a batch id is 16 bytes");
  if (signed_items.empty()) throw BuildError("a batch holds at least one item");
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.integer(1);
    s.octet_string(batch_id);
    write_generalized_time(s, created);
    s.sequence([&](der::Writer& items) {
      for (const Bytes& i : signed_items) items.raw(i);
    });
  });
  return std::move(w).take();
}

RequestBatch parse_request_batch(BytesView der) {
  if (der.size() > kMaxBatchBytes) throw ParseError(ErrorId::kTruncated, "batch larger than the limit");
  RequestBatch batch;
  der::Reader top(der);
  der::Reader s = top.enter_sequence("RequestBatch");
  top.expect_end("RequestBatch");
  if (s.read_small_integer("version") != 1) throw ParseError(ErrorId::kUnsupportedVersion, "version: only request batch version 1 is known");
  const BytesView id = s.read_octet_string("batchId");
  if (id.size() != 16) bad("batchId", "must be 16 bytes");
  batch.batch_id.assign(id.begin(), id.end());
  batch.created = read_generalized_time(s, "created");
  der::Reader items = s.enter_sequence("items");
  s.expect_end("RequestBatch");
  while (!items.at_end()) {
    if (batch.items.size() >= kMaxBatchItems) bad("items", "more than " + std::to_string(kMaxBatchItems) + " items");
    const std::size_t index = batch.items.size() + 1;
    try {
      der::Reader signed_item = items.enter_sequence("SignedRequestItem");
      SignedRequestItem si;
      const der::Element item_element = signed_item.read(der::kSequence, "item");
      si.item_der.assign(item_element.whole.begin(), item_element.whole.end());
      der::Reader item_reader(item_element.whole);
      si.item = read_item(item_reader);
      si.algorithm = read_algorithm_identifier(signed_item, "signatureAlgorithm");
      const BytesView sig = signed_item.read_bit_string_bytes("signature");
      si.signature.assign(sig.begin(), sig.end());
      signed_item.expect_end("SignedRequestItem");
      batch.items.push_back(std::move(si));
    } catch (const ParseError& e) {
      throw ParseError(e.id(), "item " + std::to_string(index) + ": " + e.what());
    }
  }
  if (batch.items.empty()) throw ParseError(ErrorId::kEmptySequence, "items: the batch is empty");
  return batch;
}

Bytes encode_result_batch(const ResultBatch& batch) {
  der::Writer w;
  w.sequence([&](der::Writer& s) {
    s.integer(1);
    s.octet_string(batch.batch_id);
    s.octet_string(batch.request_digest);
    write_generalized_time(s, batch.processed);
    s.sequence([&](der::Writer& results) {
      for (const ItemResult& r : batch.results) {
        results.sequence([&](der::Writer& e) {
          e.utf8_string(r.item_id);
          e.integer(static_cast<std::int64_t>(r.status), der::kEnumerated);
          if (r.serial) e.unsigned_integer(r.serial->magnitude(), der::context(0));
          if (!r.certificate.empty()) e.explicit_tag(1, [&](der::Writer& c) { c.raw(r.certificate); });
          if (!r.reason.empty()) e.primitive(der::context(2), view(r.reason));
        });
      }
    });
    s.sequence([&](der::Writer& lists) {
      for (const Bytes& l : batch.lists) lists.raw(l);
    });
  });
  return std::move(w).take();
}

ResultBatch parse_result_batch(BytesView der) {
  ResultBatch batch;
  der::Reader top(der);
  der::Reader s = top.enter_sequence("ResultBatch");
  top.expect_end("ResultBatch");
  if (s.read_small_integer("version") != 1) throw ParseError(ErrorId::kUnsupportedVersion, "version: only result batch version 1 is known");
  const BytesView id = s.read_octet_string("batchId");
  batch.batch_id.assign(id.begin(), id.end());
  const BytesView digest = s.read_octet_string("requestDigest");
  batch.request_digest.assign(digest.begin(), digest.end());
  batch.processed = read_generalized_time(s, "processed");
  der::Reader results = s.enter_sequence("results");
  while (!results.at_end()) {
    der::Reader e = results.enter_sequence("ItemResult");
    ItemResult r;
    r.item_id = read_utf8(e, "itemId", 64);
    const std::int64_t status = e.read_small_integer(der::kEnumerated, "status");
    if (status < 0 || status > 2) bad("status", "unknown item status");
    r.status = static_cast<ItemStatus>(status);
    if (e.peek(der::context(0))) r.serial = Serial::read(e, "serial", der::context(0));
    if (auto c = e.enter_optional(der::context_constructed(1), "certificate")) {
      const der::Element cert = c->read(der::kSequence, "certificate");
      r.certificate.assign(cert.whole.begin(), cert.whole.end());
      c->expect_end("certificate");
    }
    if (e.peek(der::context(2))) r.reason = read_utf8(e, "reason", 4096, der::context(2));
    e.expect_end("ItemResult");
    batch.results.push_back(std::move(r));
  }
  der::Reader lists = s.enter_sequence("lists");
  while (!lists.at_end()) {
    const der::Element l = lists.read(der::kSequence, "list");
    batch.lists.emplace_back(l.whole.begin(), l.whole.end());
  }
  s.expect_end("ResultBatch");
  return batch;
}

}  // namespace hanko::transfer
