"""TLS checks, one test per check id and TLS endpoint. Work is in the probe, judgement in policy."""

import pytest

from harness.policy import tls as policy


@pytest.mark.check("tls.protocols")
def test_tls_protocols(subject, measurement, judge):
    judge(policy.protocols(measurement, subject.settings))


@pytest.mark.check("tls.ciphers")
def test_tls_ciphers(subject, measurement, judge):
    judge(policy.ciphers(measurement, subject.settings))


@pytest.mark.check("tls.forward_secrecy")
def test_tls_forward_secrecy(subject, measurement, judge):
    judge(policy.forward_secrecy(measurement, subject.settings))


@pytest.mark.check("tls.key_exchange")
def test_tls_key_exchange(subject, measurement, judge):
    judge(policy.key_exchange(measurement, subject.settings))


@pytest.mark.check("tls.cert.validity")
def test_tls_cert_validity(subject, measurement, judge):
    judge(policy.cert_validity(measurement, subject.settings))


@pytest.mark.check("tls.cert.expiry")
def test_tls_cert_expiry(subject, measurement, judge):
    judge(policy.cert_expiry(measurement, subject.settings))


@pytest.mark.check("tls.cert.trust")
def test_tls_cert_trust(subject, measurement, judge):
    judge(policy.cert_trust(measurement, subject.settings))


@pytest.mark.check("tls.cert.strict")
def test_tls_cert_strict(subject, measurement, judge):
    judge(policy.cert_strict(measurement, subject.settings))


@pytest.mark.check("tls.cert.hostname")
def test_tls_cert_hostname(subject, measurement, judge):
    judge(policy.cert_hostname(measurement, subject.settings))


@pytest.mark.check("tls.cert.key")
def test_tls_cert_key(subject, measurement, judge):
    judge(policy.cert_key(measurement, subject.settings))


@pytest.mark.check("tls.cert.signature")
def test_tls_cert_signature(subject, measurement, judge):
    judge(policy.cert_signature(measurement, subject.settings))


@pytest.mark.check("tls.vuln.heartbleed")
def test_tls_vuln_heartbleed(subject, measurement, judge):
    judge(policy.heartbleed(measurement, subject.settings))


@pytest.mark.check("tls.vuln.ccs_injection")
def test_tls_vuln_ccs_injection(subject, measurement, judge):
    judge(policy.ccs_injection(measurement, subject.settings))


@pytest.mark.check("tls.vuln.robot")
def test_tls_vuln_robot(subject, measurement, judge):
    judge(policy.robot(measurement, subject.settings))


@pytest.mark.check("tls.vuln.renegotiation")
def test_tls_vuln_renegotiation(subject, measurement, judge):
    judge(policy.renegotiation(measurement, subject.settings))


@pytest.mark.check("tls.vuln.compression")
def test_tls_vuln_compression(subject, measurement, judge):
    judge(policy.compression(measurement, subject.settings))


@pytest.mark.check("tls.vuln.fallback_scsv")
def test_tls_vuln_fallback_scsv(subject, measurement, judge):
    judge(policy.fallback_scsv(measurement, subject.settings))


@pytest.mark.check("tls.hsts")
def test_tls_hsts(subject, measurement, judge):
    judge(policy.hsts(measurement, subject.settings))


@pytest.mark.check("tls.profile")
def test_tls_profile(subject, measurement, judge):
    judge(policy.compliance(measurement, subject.settings))


@pytest.mark.check("tls.grade")
def test_tls_grade(subject, measurement, judge):
    judge(policy.grade(measurement, subject.settings))


@pytest.mark.check("tls.vuln.sweet32")
def test_tls_vuln_sweet32(subject, measurement, judge):
    judge(policy.sweet32(measurement, subject.settings))


@pytest.mark.check("tls.vuln.freak")
def test_tls_vuln_freak(subject, measurement, judge):
    judge(policy.freak(measurement, subject.settings))


@pytest.mark.check("tls.vuln.logjam")
def test_tls_vuln_logjam(subject, measurement, judge):
    judge(policy.logjam(measurement, subject.settings))


@pytest.mark.check("tls.vuln.drown")
def test_tls_vuln_drown(subject, measurement, judge, tls_run):
    judge(policy.drown(measurement, subject.settings, tls_run))


@pytest.mark.check("tls.vuln.poodle")
def test_tls_vuln_poodle(subject, measurement, judge):
    judge(policy.poodle(measurement, subject.settings))


@pytest.mark.check("tls.vuln.rc4")
def test_tls_vuln_rc4(subject, measurement, judge):
    judge(policy.rc4(measurement, subject.settings))


@pytest.mark.check("tls.vuln.beast")
def test_tls_vuln_beast(subject, measurement, judge):
    judge(policy.beast(measurement, subject.settings))


@pytest.mark.check("tls.vuln.lucky13")
def test_tls_vuln_lucky13(subject, measurement, judge):
    judge(policy.lucky13(measurement, subject.settings))


@pytest.mark.check("tls.cert.ocsp_stapling")
def test_tls_cert_ocsp_stapling(subject, measurement, judge):
    judge(policy.ocsp_stapling(measurement, subject.settings))


@pytest.mark.check("tls.cert.sct")
def test_tls_cert_sct(subject, measurement, judge):
    judge(policy.sct(measurement, subject.settings))


@pytest.mark.check("tls.cert.chain")
def test_tls_cert_chain(subject, measurement, judge):
    judge(policy.chain(measurement, subject.settings))


@pytest.mark.check("tls.cert.lifetime")
def test_tls_cert_lifetime(subject, measurement, judge):
    judge(policy.lifetime(measurement, subject.settings))


@pytest.mark.check("tls.post_quantum")
def test_tls_post_quantum(subject, measurement, judge):
    judge(policy.post_quantum(measurement, subject.settings))
