"""Host-side tooling for himem: dependencies, builds, QEMU runs, KTAP judging."""
