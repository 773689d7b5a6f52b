using System.Buffers.Binary;
using System.Text;

namespace Aha.Runtime;

/// <summary>
/// Reads and edits the symbol-version requirements (<c>.gnu.version_r</c>) of a 64-bit little-endian ELF file.
/// Used to mark a version requirement the system library lacks as weak, so the dynamic loader accepts the file.
/// </summary>
public static class ElfVersionPatch
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    /// <summary>One required version: the library that must provide it, its name, and where its flags sit in the file.</summary>
    public sealed record Requirement(string Library, string Version, ushort Flags, long FlagsOffset)
    {
        public bool IsWeak => (Flags & VerFlagWeak) != 0;
    }

    public static IReadOnlyList<Requirement> ReadRequirements(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

        long shoff = (long)U64(elf, 0x28);
        int shentsize = U16(elf, 0x3A);
        int shnum = U16(elf, 0x3C);

        (uint Type, long Offset, uint Link, uint Info) Section(int i)
        {
            long s = shoff + (long)i * shentsize;
            return (U32(elf, s + 4), (long)U64(elf, s + 0x18), U32(elf, s + 0x28), U32(elf, s + 0x2C));
        }

        var result = new List<Requirement>();
        for (int i = 0; i < shnum; i++)
        {
            var sec = Section(i);
            if (sec.Type != ShtGnuVerneed) continue;
            long strtab = Section((int)sec.Link).Offset;
            string Str(uint offset)
            {
                int start = (int)(strtab + offset);
                int end = Array.IndexOf(elf, (byte)0, start);
                return Encoding.ASCII.GetString(elf, start, end - start);
            }

            long vn = sec.Offset;
            for (uint n = 0; n < sec.Info; n++)
            {
                // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32
                int cnt = U16(elf, vn + 2);
                string file = Str(U32(elf, vn + 4));
                long aux = vn + U32(elf, vn + 8);
                for (int a = 0; a < cnt; a++)
                {
                    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32
                    ushort flags = U16(elf, aux + 4);
                    string name = Str(U32(elf, aux + 8));
                    result.Add(new Requirement(file, name, flags, aux + 4));
                    aux += U32(elf, aux + 12);
                }
                uint next = U32(elf, vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        return result;
    }

    static ushort U16(byte[] b, long at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)at));
    static uint U32(byte[] b, long at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)at));
    static ulong U64(byte[] b, long at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)at));

    /// <summary>Marks the given requirement weak in <paramref name="elf"/> (in memory).</summary>
    public static void MakeWeak(byte[] elf, Requirement requirement)
    {
        var flags = (ushort)(requirement.Flags | VerFlagWeak);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan((int)requirement.FlagsOffset), flags);
    }
}
