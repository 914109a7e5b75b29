#!/usr/bin/env python3
"""cross/check.py FILE...: checks that each release binary needs nothing
beyond its operating system, from its own headers (no tool of the target
system is needed to read them):

  ELF (Linux)      static: no program interpreter, no DT_NEEDED library;
                   the machine named in the file name (x86_64, arm64).
  Mach-O (macOS)   linked against /usr/lib/libSystem.B.dylib alone, the
                   CPU named in the file name, and for arm64 an
                   LC_CODE_SIGNATURE (macOS refuses arm64 code without one;
                   ad hoc is enough; x86_64 code needs none).
  PE (Windows)     PE32+ for the machine in the file name, importing only
                   DLLs that every Windows has (SYSTEM_DLLS): the C
                   runtime msvcrt.dll, kernel32, ws2_32 and the like; no
                   mingw runtime (libwinpthread, libgcc_s) beside it.

Prints one line per file and exits non-zero if any check fails."""
import struct
import sys

ELF_MACHINES = {62: "x86_64", 183: "arm64"}
MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "arm64"}
LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB = 0xC, 0x80000018, 0x8000001F
LC_CODE_SIGNATURE = 0x1D
SYSTEM_DYLIBS = {"/usr/lib/libSystem.B.dylib"}
PE_MACHINES = {0x8664: "x86_64", 0xAA64: "arm64"}
SYSTEM_DLLS = {"kernel32.dll", "advapi32.dll", "user32.dll", "ws2_32.dll",
               "bcrypt.dll", "crypt32.dll", "msvcrt.dll", "ntdll.dll"}


def want_arch(path):
    for arch in ("x86_64", "arm64"):
        if arch in path.rsplit("/", 1)[-1]:
            return arch
    return None


def check_elf(data):
    if data[4] != 2 or data[5] != 1:
        return "not a 64-bit little-endian ELF"
    machine = struct.unpack_from("<H", data, 18)[0]
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    dynamic = None
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:
            return "has a program interpreter (dynamically linked)"
        if p_type == 2:
            dynamic = (p_offset, p_filesz)
    if dynamic:
        off, size = dynamic
        for j in range(0, size, 16):
            tag = struct.unpack_from("<q", data, off + j)[0]
            if tag == 0:
                break
            if tag == 1:
                return "needs a shared library (DT_NEEDED)"
    return ("ok", ELF_MACHINES.get(machine, "machine %d" % machine),
            "static")


def check_macho(data):
    _, cpu, _, _, ncmds, _, _, _ = struct.unpack_from("<IiiIIIII", data, 0)
    off, dylibs, signed = 32, [], False
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd in (LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB):
            name_off = struct.unpack_from("<I", data, off + 8)[0]
            dylibs.append(data[off + name_off:off + size].split(b"\0")[0]
                          .decode())
        elif cmd == LC_CODE_SIGNATURE:
            signed = True
        off += size
    extra = [d for d in dylibs if d not in SYSTEM_DYLIBS]
    if extra:
        return "links " + ", ".join(extra)
    arch = MACHO_CPUS.get(cpu & 0xFFFFFFFF, "cpu %#x" % cpu)
    if arch == "arm64" and not signed:
        return "no code signature"
    return ("ok", arch,
            "libSystem only" + (", signed" if signed else ", unsigned"))


def check_pe(data):
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe:pe + 4] != b"PE\0\0":
        return "no PE signature"
    machine, nsect, _, _, _, optsize, _ = struct.unpack_from(
        "<HHIIIHH", data, pe + 4)
    opt = pe + 24
    if struct.unpack_from("<H", data, opt)[0] != 0x20B:
        return "not PE32+"
    # Data directory 1: the import table (RVA, size).
    imp_rva = struct.unpack_from("<I", data, opt + 112 + 8)[0]
    sections = []
    for i in range(nsect):
        s_off = opt + optsize + i * 40
        vsize, vaddr, rawsize, rawptr = struct.unpack_from(
            "<IIII", data, s_off + 8)
        sections.append((vaddr, max(vsize, rawsize), rawptr))

    def at(rva):
        for vaddr, size, rawptr in sections:
            if vaddr <= rva < vaddr + size:
                return rva - vaddr + rawptr
        raise ValueError("RVA %#x outside the sections" % rva)

    dlls = []
    off = at(imp_rva) if imp_rva else None
    while off is not None:
        name_rva = struct.unpack_from("<I", data, off + 12)[0]
        if name_rva == 0:
            break
        name = data[at(name_rva):].split(b"\0")[0].decode().lower()
        dlls.append(name)
        off += 20
    extra = [d for d in dlls if d not in SYSTEM_DLLS]
    if extra:
        return "imports " + ", ".join(extra)
    return ("ok", PE_MACHINES.get(machine, "machine %#x" % machine),
            "imports " + ", ".join(sorted(dlls)))


def check(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"\x7fELF":
        r = check_elf(data)
    elif data[:4] == b"\xcf\xfa\xed\xfe":
        r = check_macho(data)
    elif data[:2] == b"MZ":
        r = check_pe(data)
    else:
        r = "unknown format"
    if isinstance(r, str):
        return False, r
    arch = want_arch(path)
    if arch and r[1] != arch:
        return False, "built for %s, named %s" % (r[1], arch)
    return True, "%s, %s" % (r[1], r[2])


def main():
    bad = 0
    for path in sys.argv[1:]:
        ok, what = check(path)
        print("%s %s: %s" % ("ok  " if ok else "FAIL", path, what))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
