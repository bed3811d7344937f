"""SSH transport checks, one test per check id and SSH endpoint (declared under `ssh`, and every
ssh login endpoint). The ssh probe reads the server's offer before any key is agreed; policy
judges it against harness/data/ssh_policy.yaml."""

import pytest

from harness.policy import ssh as policy


@pytest.mark.check("ssh.kex")
def test_ssh_kex(subject, measurement, judge):
    judge(policy.kex(measurement))


@pytest.mark.check("ssh.host_keys")
def test_ssh_host_keys(subject, measurement, judge):
    judge(policy.host_keys(measurement))


@pytest.mark.check("ssh.ciphers")
def test_ssh_ciphers(subject, measurement, judge):
    judge(policy.ciphers(measurement))


@pytest.mark.check("ssh.macs")
def test_ssh_macs(subject, measurement, judge):
    judge(policy.macs(measurement))


@pytest.mark.check("ssh.terrapin")
def test_ssh_terrapin(subject, measurement, judge):
    judge(policy.terrapin(measurement))


@pytest.mark.check("ssh.post_quantum")
def test_ssh_post_quantum(subject, measurement, judge):
    judge(policy.post_quantum(measurement))
