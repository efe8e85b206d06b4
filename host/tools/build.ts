// Builds every firmware image (release + debug) with the AssemblyScript compiler API, in one
// process so the compiler starts once. Usage: tsx host/tools/build.ts [node|controller ...]
import asc from "assemblyscript/asc";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { repoRoot } from "../abi.ts";
import { checkWasm, profileFor } from "./wasm-check.ts";

export const FIRMWARE_IMAGES = ["node", "controller"] as const;
export type FirmwareImage = (typeof FIRMWARE_IMAGES)[number];

export async function buildImage(image: FirmwareImage, variant: "release" | "debug"): Promise<void> {
  const target = variant === "release" ? image : `${image}-debug`;
  const entry = join("assembly", image, "index.ts");
  let errorText = "";
  const { error } = await asc.main(
    [entry, "--config", "asconfig.json", "--target", target, "--baseDir", repoRoot],
    { stderr: { write: (s: string | Uint8Array) => { errorText += String(s); return true; } } as never },
  );
  if (error) throw new Error(`firmware build ${target} failed:\n${errorText || error.message}`);
  if (variant === "release") {
    // The release image is what an MCU runs: it must pass the wasm3 profile, the ABI and its budget.
    const path = join(repoRoot, "build", `${image}.wasm`);
    const { violations } = checkWasm(readFileSync(path), profileFor(image));
    if (violations.length > 0) {
      throw new Error(`firmware image ${path} breaks the MCU profile:\n${violations.map((v) => `  [${v.rule}] ${v.message}`).join("\n")}`);
    }
  }
}

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  for (const name of requested) {
    if (!(FIRMWARE_IMAGES as readonly string[]).includes(name)) {
      throw new Error(`unknown firmware image '${name}' (known: ${FIRMWARE_IMAGES.join(", ")})`);
    }
  }
  const images = (requested.length > 0 ? requested : FIRMWARE_IMAGES) as FirmwareImage[];
  for (const image of images) {
    for (const variant of ["release", "debug"] as const) {
      await buildImage(image, variant);
      console.log(`built ${image} (${variant})`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
