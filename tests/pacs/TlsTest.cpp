// DICOM TLS in the client core (docs/security.md, "DICOM TLS") against real peers on free loopback
// ports: private TLS Orthancs (scripts/orthanc.sh start --tls), DCMTK's storescp in TLS mode,
// openssl s_server, a socket that never answers. The test PKI is the CTest fixture "pki"
// (tests/fixtures/make_pki.sh). A missing server is a failure, never a skip.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>

#include "../iod/TestSupport.hpp"
#include "OrthancSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/network/Pacs.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/workflow/Roi.hpp"
#include "iodeep/workflow/Workstation.hpp"

using namespace iodeep;
using test::errorOf;
using test::OrthancTls;
using test::pkiDir;
using test::PrivateOrthanc;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path kSource = IODEEP_SOURCE_DIR;
const fs::path kBrain = kSource / "examples/brain-unet/brain-unet.dcm";
const fs::path kSlice22 = kSource / "examples/brain-unet/series/slice_022.dcm";

bool contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

using Server = test::ServerProcess;

// Our options for a peer on loopback with our test certificate, trusting the test CA.
client::NetworkOptions tlsOptions(const std::string& aet, std::uint16_t port) {
  const auto pki = pkiDir();
  client::NetworkOptions o;
  o.pacs = client::Peer::parse(aet + "@127.0.0.1:" + std::to_string(port));
  o.retrieve = client::RetrieveMode::Get;
  o.connectTimeoutSeconds = 3;
  o.dimseTimeoutSeconds = 10;
  o.tls.enabled = true;
  o.tls.certificate = pki / "client.pem";
  o.tls.privateKey = pki / "client.key";
  o.tls.trustedCertificates = {pki / "ca.pem"};
  return o;
}

// storescp in DICOM TLS mode with a certificate of the test PKI, and its extra options.
std::unique_ptr<Server> tlsStoreScp(std::uint16_t port, const std::string& certificate, const fs::path& out,
                                    const std::vector<std::string>& extra = {}) {
  const auto pki = pkiDir();
  std::vector<std::string> argv{"storescp",
                                "+tls",
                                (pki / (certificate + ".key")).string(),
                                (pki / (certificate + ".pem")).string(),
                                "+cf",
                                (pki / "ca.pem").string(),
                                "-od",
                                out.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(std::to_string(port));
  return std::make_unique<Server>(argv, port);
}

}  // namespace

// ---- a DICOM TLS Orthanc ------------------------------------------------------------------------------

// Every service over TLS: C-ECHO, C-STORE, C-FIND, C-MOVE (Orthanc connects to our storage SCP over
// TLS) and C-GET, the instance byte for byte.
TEST(TlsOrthanc, EveryServiceOverTls) {
  PrivateOrthanc orthanc(OrthancTls{});
  const auto o = orthanc.options();
  ASSERT_TRUE(o.tls.enabled);
  const client::Pacs pacs(o);
  EXPECT_NO_THROW(pacs.echo());
  const auto stored = pacs.store({kBrain, kSlice22});
  ASSERT_EQ(stored.size(), 2U);
  EXPECT_EQ(stored[0].status, 0);
  const auto model = iod::readIodeep(kBrain).model;
  const auto found = client::findInstances(pacs, model.studyInstanceUid, model.seriesInstanceUid);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].sopInstanceUid, model.sopInstanceUid);
  test::TempDir dir;
  for (const auto mode : {client::RetrieveMode::Move, client::RetrieveMode::Get}) {
    auto m = o;
    m.retrieve = mode;
    const auto into = dir / (mode == client::RetrieveMode::Get ? "get" : "move");
    const auto r = client::Pacs(m).retrieve(client::QueryLevel::Image, model.studyInstanceUid, model.seriesInstanceUid,
                                            model.sopInstanceUid, into);
    ASSERT_EQ(r.files.size(), 1U);
    EXPECT_EQ(r.failed, 0U);
    EXPECT_EQ(iod::readIodeep(r.files[0]).model.dnnUid, model.dnnUid);
    // what Orthanc returns of the payload is what was stored
    EXPECT_EQ(iod::readIodeep(r.files[0]).model.sopInstanceUid, model.sopInstanceUid);
  }
  // and the slice by C-MOVE: the image as it was sent
  const auto slice = iod::readSliceAttributes(kSlice22);
  const auto r = client::Pacs(o).retrieve(client::QueryLevel::Image, slice.studyInstanceUid, slice.seriesInstanceUid,
                                          slice.sopInstanceUid, dir / "slice");
  ASSERT_EQ(r.files.size(), 1U);
  EXPECT_EQ(iod::readSliceAttributes(r.files[0]).sopInstanceUid, slice.sopInstanceUid);
}

// The AI ROI end to end over TLS: the network uploaded by C-STORE, the slice and the network
// retrieved by C-MOVE, then by C-GET, the approved RT Structure Set stored and found again.
TEST(TlsOrthanc, AiRoiEndToEnd) {
  PrivateOrthanc orthanc(OrthancTls{});
  const client::Pacs pacs(orthanc.options());
  ASSERT_EQ(pacs.store({kBrain, kSlice22}).size(), 2U);
  test::TempDir dir;
  for (const auto mode : {client::RetrieveMode::Move, client::RetrieveMode::Get}) {
    client::ClientConfig config;
    config.network = orthanc.options();
    config.network.retrieve = mode;
    config.cacheDir = dir / (mode == client::RetrieveMode::Move ? "cache-move" : "cache-get");
    config.outboxDir = dir / "outbox";
    client::RoiOptions request;
    request.slices.instances = {iod::readSliceAttributes(kSlice22).sopInstanceUid};
    request.approve = "all";
    request.reviewer = "Doe^Jane";
    client::Workstation ws(config);
    const auto r = client::runRoi(ws, request);
    ASSERT_TRUE(r.selection.selection.matched());
    ASSERT_TRUE(r.model);
    EXPECT_EQ(r.model->sopInstanceUid, iod::readIodeep(kBrain).model.sopInstanceUid);
    EXPECT_FALSE(r.modelFromCache);
    EXPECT_GT(r.modelBytesMoved, 0U);
    ASSERT_TRUE(r.approvedSet);
    EXPECT_TRUE(r.approvedSet->stored) << r.approvedSet->storeError;
    EXPECT_TRUE(r.approvedSet->foundOnPacs);
    EXPECT_EQ(r.approvedSet->approvalStatus, "APPROVED");
  }
  EXPECT_TRUE(test::listFiles(dir / "outbox").empty());
}

// Our plain client against a TLS-only Orthanc: refused at once (it aborts the association), with
// a hint, well within the connect timeout.
TEST(TlsOrthanc, PlainClientIsRefusedCleanly) {
  PrivateOrthanc orthanc(OrthancTls{});
  auto plain = orthanc.options();
  plain.tls = {};
  const auto start = Clock::now();
  const auto e = errorOf([&] { client::Pacs(plain).echo(); });
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(plain.connectTimeoutSeconds));
  EXPECT_EQ(e.code(), ErrorCode::AssociationRejected) << e.what();
  EXPECT_EQ(e.peer(), plain.pacs.toString());
  EXPECT_TRUE(contains(e.what(), "TLS")) << e.what();
  EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
}

// A PACS whose certificate no trusted CA issued (the rogue CA's, CN=localhost): TlsFailure,
// whatever it could serve; the same with verification off connects (and is warned about).
TEST(TlsOrthanc, UntrustedPeerCertificateIsRefused) {
  PrivateOrthanc orthanc(OrthancTls{.serverCertificate = "rogue-server"});
  const auto o = orthanc.options();
  const auto e = errorOf([&] { client::Pacs(o).echo(); });
  EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
  EXPECT_EQ(e.peer(), o.pacs.toString());
  EXPECT_TRUE(contains(e.detail(), "certificate verify failed")) << e.what();
  EXPECT_TRUE(contains(e.detail(), "unable to get local issuer certificate")) << e.what();
  auto unverified = o;
  unverified.tls.verifyPeer = false;
  unverified.tls.trustedCertificates.clear();
  ASSERT_EQ(unverified.warnings().size(), 1U);
  EXPECT_NO_THROW(client::Pacs(unverified).echo());
}

// Orthanc does not trust our certificate (the rogue CA issued it). Over TLS 1.3 it says so with an
// alert after our side of the handshake has ended ("tlsv1 alert unknown ca"), or resets the
// connection before we read the alert: TlsFailure either way, asking about our certificate.
TEST(TlsOrthanc, PeerThatDoesNotTrustUsIsReported) {
  PrivateOrthanc orthanc(OrthancTls{});
  auto o = orthanc.options();
  o.tls.certificate = pkiDir() / "rogue.pem";
  o.tls.privateKey = pkiDir() / "rogue.key";
  for (int i = 0; i < 5; ++i) {
    const auto e = errorOf([&] { client::Pacs(o).echo(); });
    EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
    EXPECT_TRUE(contains(e.detail(), "our certificate")) << e.what();
  }
}

// A PACS that reaches our C-MOVE destination without TLS: the handshake our SCP saw fail is
// the error (TlsFailure naming our port), not a bare failed sub-operation; C-GET still works.
TEST(TlsOrthanc, MoveDestinationReachedWithoutTlsIsReported) {
  PrivateOrthanc orthanc(OrthancTls{.plainModalities = true});
  auto o = orthanc.options();
  const client::Pacs pacs(o);
  ASSERT_EQ(pacs.store({kSlice22}).size(), 1U);
  const auto slice = iod::readSliceAttributes(kSlice22);
  test::TempDir dir;
  const auto e = errorOf([&] {
    (void)pacs.retrieve(client::QueryLevel::Image, slice.studyInstanceUid, slice.seriesInstanceUid,
                        slice.sopInstanceUid, dir / "move");
  });
  EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
  EXPECT_TRUE(contains(e.detail(), "move destination (port " + std::to_string(o.movePort) + ")")) << e.what();
  EXPECT_TRUE(test::listFiles(dir / "move").empty());
  o.retrieve = client::RetrieveMode::Get;
  EXPECT_EQ(client::Pacs(o)
                .retrieve(client::QueryLevel::Image, slice.studyInstanceUid, slice.seriesInstanceUid,
                          slice.sopInstanceUid, dir / "get")
                .files.size(),
            1U);
}

// ---- other peers: storescp in TLS mode, openssl s_server, plain and silent peers ---------------

// C-ECHO and C-STORE to DCMTK's storescp over TLS; a peer whose certificate (issued by our CA)
// does not name the host we connect to is refused; an encrypted key with its passphrase works.
TEST(TlsPeers, StoreScpOverTlsAndHostNameCheck) {
  test::TempDir dir;
  {
    const auto port = test::freeLoopbackPort();
    const auto scp = tlsStoreScp(port, "server", dir.path());
    auto o = tlsOptions("STORESCP", port);
    EXPECT_NO_THROW(client::Pacs(o).echo());
    const auto stored = client::Pacs(o).store({kSlice22});
    ASSERT_EQ(stored.size(), 1U);
    EXPECT_EQ(stored[0].status, 0);
    // the certificate names localhost too
    o.pacs.host = "localhost";
    EXPECT_NO_THROW(client::Pacs(o).echo());
    // our key encrypted with a passphrase
    const auto encrypted = dir / "client-encrypted.key";
    const std::string cmd = "openssl pkey -in '" + (pkiDir() / "client.key").string() +
                            "' -aes256 -passout pass:s3cret -out '" + encrypted.string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    o.tls.privateKey = encrypted;
    o.tls.privateKeyPassphrase = "s3cret";
    EXPECT_NO_THROW(client::Pacs(o).echo());
    o.tls.privateKeyPassphrase = "wrong";
    const auto bad = errorOf([&] { (void)client::Pacs(o); });
    EXPECT_EQ(bad.code(), ErrorCode::TlsFailure) << bad.what();
    EXPECT_EQ(bad.file(), encrypted.string());
  }
  std::size_t received = 0;  // what storescp wrote: the slice ("MR.<SOP Instance UID>")
  for (const auto& f : test::listFiles(dir.path())) received += f.filename().string().rfind("MR.", 0) == 0 ? 1U : 0U;
  EXPECT_EQ(received, 1U);
  {
    // client.pem: issued by the trusted CA, but for "IODEEP client", no host name
    const auto port = test::freeLoopbackPort();
    const auto scp = tlsStoreScp(port, "client", dir.path());
    const auto e = errorOf([&] { client::Pacs(tlsOptions("STORESCP", port)).echo(); });
    EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
    EXPECT_TRUE(contains(e.detail(), "IP address mismatch")) << e.what();
  }
}

// A peer that offers only weak ciphers: the retired AES profile's TLS_RSA_WITH_AES_128_CBC_SHA
// (no forward secrecy, CBC with SHA-1) in storescp, and openssl s_server limited to TLS 1.2 and
// AES128-SHA. Refused in the handshake: no cipher suite in common.
TEST(TlsPeers, WeakCipherPeersAreRefused) {
  test::TempDir dir;
  {
    const auto port = test::freeLoopbackPort();
    const auto scp = tlsStoreScp(port, "server", dir.path(), {"+pa"});
    const auto e = errorOf([&] { client::Pacs(tlsOptions("STORESCP", port)).echo(); });
    EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
    EXPECT_TRUE(contains(e.detail(), "handshake failure")) << e.what();
    EXPECT_TRUE(contains(e.detail(), "no TLS version or cipher suite in common")) << e.what();
  }
  {
    const auto port = test::freeLoopbackPort();
    const auto pki = pkiDir();
    const Server server(
        {"openssl", "s_server", "-quiet", "-accept", "127.0.0.1:" + std::to_string(port), "-tls1_2", "-cipher",
         "AES128-SHA", "-cert", (pki / "server.pem").string(), "-key", (pki / "server.key").string()},
        port);
    const auto e = errorOf([&] { client::Pacs(tlsOptions("SSERVER", port)).echo(); });
    EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
    EXPECT_TRUE(contains(e.detail(), "handshake failure")) << e.what();
  }
}

// Our TLS client against a plain DICOM peer (storescp without TLS) and against a socket that
// accepts and never answers: TlsFailure at once, or when the connect timeout ends; no hang.
TEST(TlsPeers, PlainAndSilentPeers) {
  test::TempDir dir;
  {
    const auto port = test::freeLoopbackPort();
    const Server scp({"storescp", "-od", dir.path().string(), std::to_string(port)}, port);
    auto o = tlsOptions("STORESCP", port);
    const auto e = errorOf([&] { client::Pacs(o).echo(); });
    EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
    EXPECT_TRUE(contains(e.detail(), "does the peer speak DICOM TLS")) << e.what();
    o.tls = {};
    EXPECT_NO_THROW(client::Pacs(o).echo());  // the same peer in clear
  }
  {
    const auto port = test::freeLoopbackPort();
    const Server silent({"/usr/bin/python3", "-c",
                         "import socket, sys\n"
                         "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(8); held = []\n"
                         "while True: held.append(s.accept()[0])\n",
                         std::to_string(port)},
                        port);
    auto o = tlsOptions("SILENT", port);
    o.connectTimeoutSeconds = 2;
    const auto start = Clock::now();
    const auto e = errorOf([&] { client::Pacs(o).echo(); });
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
    EXPECT_TRUE(contains(e.detail(), "no TLS handshake within 2 s")) << e.what();
  }
}

// Our own certificate and key are read when the Pacs is made: a key that is not the
// certificate's, a file that holds no certificate.
TEST(TlsPeers, OurCertificateProblemsAreReportedWithTheFile) {
  auto o = tlsOptions("ANY", 104);
  o.tls.privateKey = pkiDir() / "server.key";
  auto e = errorOf([&] { (void)client::Pacs(o); });
  EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
  EXPECT_TRUE(contains(e.detail(), "does not match")) << e.what();
  o = tlsOptions("ANY", 104);
  o.tls.trustedCertificates = {kSlice22};
  e = errorOf([&] { (void)client::Pacs(o); });
  EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
  EXPECT_EQ(e.file(), kSlice22.string());
  // a directory of certificates is read file by file
  test::TempDir dir;
  fs::copy_file(pkiDir() / "ca.pem", dir / "hospital-ca.pem");
  o.tls.trustedCertificates = {dir.path()};
  EXPECT_NO_THROW((void)client::Pacs(o));
  fs::remove(dir / "hospital-ca.pem");
  e = errorOf([&] { (void)client::Pacs(o); });
  EXPECT_EQ(e.code(), ErrorCode::TlsFailure) << e.what();
}
