"""The local chain: how anvil is started (fixed mnemonic, chain id) and the contracts deployed."""
