"""Demo check that does not apply here and says so with the SKIP convention."""

print("SKIP: testnet wallet is not funded in this environment")
