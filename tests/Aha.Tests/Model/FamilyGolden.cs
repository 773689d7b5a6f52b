using Aha.Checkpoints;
using Aha.Tokenizer;

namespace Aha.Tests.Model;

/// <summary>The checkpoint folders tests/reference/families_reference.py writes: BF16, sharded over two files.</summary>
static class FamilyGolden
{
    public static readonly TheoryData<string> Families = new() { "qwen2", "qwen3", "llama", "mistral" };

    public static string Folder(string family) => Path.Combine(AppContext.BaseDirectory, "Model", "golden", "families", family);

    /// <summary>
    /// A copy of the golden folder with Aha's byte tokenizer added (its 264 ids fit the models' 512), since the golden
    /// folders leave the tokenizer out; returns the copy's path inside <paramref name="temp"/>.
    /// </summary>
    public static string CopyWithTokenizer(string family, TempDirectory temp)
    {
        string target = temp[family];
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(Folder(family)).Where(f => !f.EndsWith("expected.safetensors", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        ByteTokenizer.Default.Save(target);
        return target;
    }

    public static Checkpoint Open(string family, TempDirectory temp) => Checkpoint.Open(CopyWithTokenizer(family, temp));
}
