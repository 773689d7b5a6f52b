using System.Diagnostics;
using System.Text.Json.Nodes;
using Aha.Tests.Tokenizer;

namespace Aha.Tests.Serving;

/// <summary>
/// `aha serve` driven by the npm `openai` package (tests/fixtures/openai-node/client.mjs). The package is pinned in that
/// folder's package-lock.json; the test runs <c>npm ci</c> there on first use and fails with the command when it cannot.
/// </summary>
[Collection(ServingCollection.Name)]
public class NodeClientTests(ServingFixture fixture)
{
    [Fact]
    public void The_npm_openai_client_gets_answers_streams_reasoning_choices_stops_usage_and_errors()
    {
        var result = RunClient(fixture.Address, ServingFixture.ApiKey, "thinker", ServingFixture.Question);
        int completionTokens = $"<think>{ServingFixture.Reasoning}</think>{ServingFixture.Answer}".Length + 1;
        foreach (var mode in new[] { "whole", "stream" })
        {
            var part = result[mode]!;
            Assert.Equal(ServingFixture.Answer, part["content"]!.GetValue<string>());
            Assert.Equal(ServingFixture.Reasoning, part["reasoning"]!.GetValue<string>());
            Assert.Equal("stop", part["finish"]!.GetValue<string>());
            Assert.Equal(completionTokens, part["usage"]!["completion_tokens"]!.GetValue<int>());
        }
        Assert.True(result["stream"]!["chunks"]!.GetValue<int>() > 10);
        Assert.Equal([0, 1, 2], result["many"]!.AsArray().Select(c => c!["index"]!.GetValue<int>()));
        Assert.Equal("two ", result["stopped"]!["reasoning"]!.GetValue<string>()); // stop: ["and"]
        Assert.Equal("stop", result["stopped"]!["finish"]!.GetValue<string>());
        int plainTokens = result["completion"]!["usage"]!["completion_tokens"]!.GetValue<int>();
        Assert.InRange(plainTokens, 1, 8);
        Assert.Equal(plainTokens == 8 ? "length" : "stop", result["completion"]!["finish"]!.GetValue<string>());
        Assert.Equal(400, result["negativeTemperature"]!["status"]!.GetValue<int>());
        Assert.Equal(["thinker"], result["models"]!.AsArray().Select(m => m!.GetValue<string>()));
    }

    static JsonNode RunClient(params string[] args)
    {
        string folder = Path.Combine(TokenizerFixtures.RepositoryRoot, "tests", "fixtures", "openai-node");
        if (!File.Exists(Path.Combine(folder, "node_modules", "openai", "package.json"))) Npm(folder);
        if (!File.Exists(Path.Combine(folder, "node_modules", "openai", "package.json")))
            throw new InvalidOperationException($"the npm openai package is not installed in {folder}. Run: (cd {folder} && npm ci --ignore-scripts)");
        var start = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("client.mjs");
        foreach (var a in args) start.ArgumentList.Add(a);
        using var node = Process.Start(start) ?? throw new InvalidOperationException("node could not be started; install Node.js.");
        var stderr = node.StandardError.ReadToEndAsync();
        string stdout = node.StandardOutput.ReadToEnd();
        Assert.True(node.WaitForExit(TimeSpan.FromMinutes(1)), "node client.mjs did not finish within a minute");
        Assert.True(node.ExitCode == 0, $"node client.mjs failed:\n{stderr.Result}\n{stdout}");
        return JsonNode.Parse(stdout)!;
    }

    static void Npm(string folder)
    {
        var start = new ProcessStartInfo("npm", "ci --ignore-scripts --no-audit --no-fund") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        using var npm = Process.Start(start)!;
        var stderr = npm.StandardError.ReadToEndAsync();
        npm.StandardOutput.ReadToEnd();
        if (!npm.WaitForExit(TimeSpan.FromMinutes(5))) npm.Kill(entireProcessTree: true);
        if (npm.ExitCode != 0) Console.Error.WriteLine($"npm ci in {folder} failed: {stderr.Result}");
    }
}
