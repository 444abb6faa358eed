using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Tremor.Native.Loading;

/// <summary>
/// Checks a plugin's bytes before anything is loaded: an ELF shared object, not truncated, built for the
/// process's architecture. Reads the bytes only; never maps or runs them.
/// </summary>
internal static class ElfCheck
{
    private const int Elf64HeaderSize = 64;
    private const ushort EtExec = 2;
    private const ushort EtDyn = 3;
    private const uint PtLoad = 1;

    /// <summary>The (field, expected, found) of the first defect, or null when the bytes look like a loadable shared object.</summary>
    public static (string Field, string Expected, string Found)? Check(ReadOnlySpan<byte> bytes, List<NativeCheck> checks)
    {
        if (bytes.Length < 4 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
        {
            var head = Convert.ToHexString(bytes[..Math.Min(4, bytes.Length)]).ToLowerInvariant();
            return Fail(checks, "elf magic", "file", "an ELF shared object (bytes 7f454c46)", head.Length == 0 ? "an empty file" : $"bytes {head}");
        }
        var want64 = IntPtr.Size == 8;
        if (bytes.Length < (want64 ? Elf64HeaderSize : 52))
        {
            return Fail(checks, "truncation", "file size", $"at least {(want64 ? Elf64HeaderSize : 52)} bytes (the ELF header)", $"{bytes.Length} bytes (truncated)");
        }
        var elfClass = bytes[4];
        if (elfClass != (want64 ? 2 : 1))
        {
            return Fail(checks, "elf class", "ELF class", want64 ? "ELFCLASS64" : "ELFCLASS32", elfClass switch { 1 => "ELFCLASS32", 2 => "ELFCLASS64", _ => $"class {elfClass}" });
        }
        if (bytes[5] != (BitConverter.IsLittleEndian ? 1 : 2))
        {
            return Fail(checks, "elf byte order", "ELF byte order", BitConverter.IsLittleEndian ? "little-endian" : "big-endian", BitConverter.IsLittleEndian ? "big-endian" : "little-endian");
        }
        checks.Add(new NativeCheck("elf magic", true, "ELF, " + (want64 ? "64-bit" : "32-bit") + ", native byte order"));
        if (!want64)
        {
            // Only 64-bit hosts are built and tested; accept the header and let dlopen judge the rest.
            return null;
        }

        var type = BinaryPrimitives.ReadUInt16LittleEndian(bytes[16..]);
        if (type != EtDyn)
        {
            var found = type == EtExec ? "ET_EXEC (an executable)" : type == 1 ? "ET_REL (an object file)" : type == 4 ? "ET_CORE (a core dump)" : $"e_type {type}";
            return Fail(checks, "elf type", "e_type", "ET_DYN (a shared object)", found);
        }
        checks.Add(new NativeCheck("elf type", true, "ET_DYN (a shared object)"));

        var machine = BinaryPrimitives.ReadUInt16LittleEndian(bytes[18..]);
        var expectedMachine = ProcessMachine();
        if (expectedMachine is { } m && machine != m)
        {
            return Fail(checks, "architecture", "e_machine", $"{m} ({MachineName(m)}, the process's architecture)", $"{machine} ({MachineName(machine)})");
        }
        checks.Add(new NativeCheck("architecture", true, $"{machine} ({MachineName(machine)})"));

        var phoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes[32..]);
        var shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes[40..]);
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[54..]);
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes[56..]);
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(bytes[58..]);
        var shnum = BinaryPrimitives.ReadUInt16LittleEndian(bytes[60..]);
        var length = (ulong)bytes.Length;

        var phEnd = phoff + ((ulong)phentsize * phnum);
        if (phnum == 0 || phEnd > length)
        {
            return Fail(checks, "truncation", "file size", $"at least {phEnd} bytes (the program headers end there)", $"{length} bytes (truncated)");
        }
        for (var i = 0; i < phnum; i++)
        {
            var ph = bytes.Slice((int)phoff + (i * phentsize), phentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtLoad) continue;
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            var fileSize = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            if (offset + fileSize > length)
            {
                return Fail(checks, "truncation", "file size", $"at least {offset + fileSize} bytes (loadable segment {i} ends there)", $"{length} bytes (truncated)");
            }
        }
        var shEnd = shoff + ((ulong)shentsize * shnum);
        if (shoff != 0 && shEnd > length)
        {
            return Fail(checks, "truncation", "file size", $"at least {shEnd} bytes (the section headers end there)", $"{length} bytes (truncated)");
        }
        checks.Add(new NativeCheck("truncation", true, $"{length} bytes, every segment inside the file"));
        return null;
    }

    public static bool HasElfMagic(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && head[0] == 0x7f && head[1] == (byte)'E' && head[2] == (byte)'L' && head[3] == (byte)'F';

    private static (string, string, string) Fail(List<NativeCheck> checks, string check, string field, string expected, string found)
    {
        checks.Add(new NativeCheck(check, false, $"{field}: expected {expected}, found {found}"));
        return (field, expected, found);
    }

    private static ushort? ProcessMachine() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 62,
        Architecture.Arm64 => 183,
        Architecture.X86 => 3,
        Architecture.Arm => 40,
        Architecture.RiscV64 => 243,
        Architecture.LoongArch64 => 258,
        Architecture.S390x => 22,
        Architecture.Ppc64le => 21,
        _ => null,
    };

    private static string MachineName(ushort machine) => machine switch
    {
        62 => "x86-64",
        183 => "AArch64",
        3 => "x86",
        40 => "ARM",
        243 => "RISC-V",
        258 => "LoongArch",
        22 => "s390",
        21 => "PowerPC64",
        _ => "unknown",
    };
}
