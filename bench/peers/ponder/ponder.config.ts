import { createConfig } from "ponder";

import { Erc20Abi } from "./abis/Erc20Abi";

export default createConfig({
  database: { kind: "postgres", connectionString: process.env.DATABASE_URL },
  chains: {
    anvil: { id: 31337, rpc: process.env.PONDER_RPC_URL_31337 },
  },
  contracts: {
    ERC20: {
      chain: "anvil",
      abi: Erc20Abi,
      address: process.env.ERC20_ADDRESS as `0x${string}`,
      startBlock: Number(process.env.START_BLOCK),
    },
  },
});
