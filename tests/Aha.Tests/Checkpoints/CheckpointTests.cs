using Aha.Tokenizer;
using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Checkpoints;

public class CheckpointTests
{
    static readonly ModelConfig Config = new() { HiddenSize = 8, NumAttentionHeads = 2, NumKeyValueHeads = 2, NumHiddenLayers = 2 };

    static void AssertSameWeights(nn.Module expected, nn.Module actual)
    {
        var a = expected.state_dict();
        var b = actual.state_dict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (name, t) in a) Assert.True(t.eq(b[name]).all().item<bool>(), name);
    }

    static bool SameWeights(nn.Module x, nn.Module y) =>
        x.state_dict().All(p => p.Value.eq(y.state_dict()[p.Key]).all().item<bool>());

    [Fact]
    public void A_saved_checkpoint_loads_back_into_a_fresh_module_with_equal_weights_and_state()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        var saved = new TinyNet(seed: 1);
        var state = new TrainingState { Step = 7, Seed = 42, Trainer = "pretrain" }
            .WithOptions(new { LearningRate = 3e-4, BatchSize = 4 })
            .With("data_position", new[] { 0L, 12L, 3L });
        var moments = new Dictionary<string, Tensor> { ["lm_head.weight.exp_avg"] = ones(12, 8), ["step"] = tensor(7L) };
        string folder = Checkpoint.Save(run.Path, Checkpoint.StepName(7), saved, Config, ByteTokenizer.Default, state, moments);

        Assert.Equal(run["step-000007"], folder);
        Assert.Equal("step-000007", File.ReadAllText(run["latest"]).Trim());
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                     "special_tokens_map.json", "generation_config.json", "trainer_state.json", "optimizer.safetensors" })
            Assert.True(File.Exists(Path.Combine(folder, file)), file);

        var loaded = new TinyNet(seed: 2);
        Assert.False(SameWeights(saved, loaded));
        var checkpoint = Checkpoint.LoadLatest(run.Path);
        checkpoint.LoadModel(loaded);
        AssertSameWeights(saved, loaded);

        Assert.Equal(Config, checkpoint.Config);
        Assert.Equal(7, checkpoint.State!.Step);
        Assert.Equal(42, checkpoint.State.Seed);
        Assert.Equal("pretrain", checkpoint.State.Trainer);
        Assert.Equal([0L, 12L, 3L], checkpoint.State.Get<long[]>("data_position")!);
        Assert.Equal(3e-4, checkpoint.State.Options["learning_rate"]!.GetValue<double>());
        var optimizer = checkpoint.LoadOptimizer();
        Assert.Equal(7L, optimizer["step"].item<long>());
        Assert.True(optimizer["lm_head.weight.exp_avg"].eq(1).all().item<bool>());
    }

    [Fact]
    public void Generation_config_names_the_special_ids_and_stops_at_end_of_turn()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        string folder = Checkpoint.Save(run.Path, "final", new TinyNet(), Config, ByteTokenizer.Default);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "generation_config.json")))!;
        Assert.Equal(256, json["bos_token_id"]!.GetValue<int>());
        Assert.Equal([257, 262], json["eos_token_id"]!.AsArray().Select(n => n!.GetValue<int>()));
        Assert.Equal(258, json["pad_token_id"]!.GetValue<int>());
        Assert.True(json["do_sample"]!.GetValue<bool>());
        Assert.Equal("llama", JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!["model_type"]!.GetValue<string>());
    }

    [Fact]
    public void Tied_weights_are_written_once_and_load_into_both_places()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        var saved = new TinyNet(tie: true, seed: 3);
        string folder = Checkpoint.Save(run.Path, "tied", saved, Config with { TieWordEmbeddings = true }, ByteTokenizer.Default);
        var names = SafeTensors.ReadHeader(Path.Combine(folder, "model.safetensors")).Tensors.Select(t => t.Name).ToList();
        Assert.Contains("embed_tokens.weight", names);
        Assert.DoesNotContain("lm_head.weight", names);

        var loaded = new TinyNet(tie: true, seed: 4);
        Checkpoint.Open(folder).LoadModel(loaded);
        AssertSameWeights(saved, loaded);
    }

    [Fact]
    public void A_model_of_another_shape_is_refused_listing_missing_unexpected_and_shape_differences()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        string folder = Checkpoint.Save(run.Path, "a", new TinyNet(hidden: 8, layers: 2), Config, ByteTokenizer.Default);
        var checkpoint = Checkpoint.Open(folder);

        var deeper = Assert.Throws<InvalidDataException>(() => checkpoint.LoadModel(new TinyNet(hidden: 8, layers: 3)));
        Assert.Contains("missing from the file (2): layers.2.weight, layers.2.bias", deeper.Message);
        Assert.Contains(Path.Combine(folder, "model.safetensors"), deeper.Message);
        Assert.Contains("Build the model from that config", deeper.Message);

        var shallower = Assert.Throws<InvalidDataException>(() => checkpoint.LoadModel(new TinyNet(hidden: 8, layers: 1)));
        Assert.Contains("in the file but not in the model (2): layers.1.bias, layers.1.weight", shallower.Message);

        var wider = Assert.Throws<InvalidDataException>(() => checkpoint.LoadModel(new TinyNet(hidden: 16, layers: 2)));
        Assert.Contains("shape of embed_tokens.weight: [12, 8] in the file, [12, 16] in the model", wider.Message);
        Assert.Contains("hidden_size=8", wider.Message);
    }

    [Fact]
    public void A_corrupt_model_file_is_refused_and_the_module_is_left_untouched()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        string folder = Checkpoint.Save(run.Path, "a", new TinyNet(seed: 1), Config, ByteTokenizer.Default);
        string model = Path.Combine(folder, "model.safetensors");
        File.WriteAllBytes(model, File.ReadAllBytes(model)[..^5]);
        var target = new TinyNet(seed: 2);
        var before = new TinyNet(seed: 2);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Open(folder).LoadModel(target));
        Assert.StartsWith(model + ":", e.Message);
        AssertSameWeights(before, target);
    }

    [Fact]
    public void A_latest_pointing_to_a_missing_folder_says_so()
    {
        using var run = new TempDirectory();
        File.WriteAllText(run["latest"], "step-000100\n");
        var e = Assert.Throws<DirectoryNotFoundException>(() => Checkpoint.LoadLatest(run.Path));
        Assert.Contains("names 'step-000100'", e.Message);
        Assert.Contains(run["step-000100"] + " does not exist", e.Message);
    }

    [Fact]
    public void A_run_without_latest_is_fresh_for_try_and_an_error_for_load()
    {
        using var run = new TempDirectory();
        Assert.Null(Checkpoint.TryLoadLatest(run.Path));
        Assert.Null(Checkpoint.TryLoadLatest(run["never-created"]));
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.LoadLatest(run.Path));
        Assert.Contains("no checkpoint of this run was completed", e.Message);
    }

    [Fact]
    public void A_save_that_fails_midway_leaves_the_previous_checkpoint_and_latest_intact()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        var first = new TinyNet(seed: 1);
        Checkpoint.Save(run.Path, Checkpoint.StepName(1), first, Config, ByteTokenizer.Default, new TrainingState { Step = 1 });

        // model.safetensors is already in the temporary folder when the optimizer write fails.
        var broken = tensor(1f);
        broken.Dispose();
        var failing = new Dictionary<string, Tensor> { ["m"] = broken };
        Assert.ThrowsAny<Exception>(() => Checkpoint.Save(run.Path, Checkpoint.StepName(2), new TinyNet(seed: 2), Config, ByteTokenizer.Default, new TrainingState { Step = 2 }, failing));

        Assert.Equal(["latest", "step-000001"], Directory.EnumerateFileSystemEntries(run.Path).Select(Path.GetFileName).Order());
        var checkpoint = Checkpoint.LoadLatest(run.Path);
        Assert.Equal(1, checkpoint.State!.Step);
        var loaded = new TinyNet(seed: 3);
        checkpoint.LoadModel(loaded);
        AssertSameWeights(first, loaded);
    }

    [Fact]
    public void A_temporary_folder_left_by_a_killed_process_is_ignored_then_cleaned_by_the_next_save()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        Checkpoint.Save(run.Path, Checkpoint.StepName(1), new TinyNet(), Config, ByteTokenizer.Default, new TrainingState { Step = 1 });
        string abandoned = run[".tmp-step-000002-2147483647"]; // no process has this id
        Directory.CreateDirectory(abandoned);
        File.WriteAllBytes(Path.Combine(abandoned, "model.safetensors"), [1, 2, 3]);

        Assert.Equal(1, Checkpoint.LoadLatest(run.Path).State!.Step);
        Checkpoint.Save(run.Path, Checkpoint.StepName(2), new TinyNet(), Config, ByteTokenizer.Default, new TrainingState { Step = 2 });
        Assert.False(Directory.Exists(abandoned));
        Assert.Equal(2, Checkpoint.LoadLatest(run.Path).State!.Step);
    }

    [Fact]
    public void An_existing_checkpoint_folder_is_never_overwritten()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        var first = new TinyNet(seed: 1);
        Checkpoint.Save(run.Path, "step-000005", first, Config, ByteTokenizer.Default);
        var e = Assert.Throws<IOException>(() => Checkpoint.Save(run.Path, "step-000005", new TinyNet(seed: 2), Config, ByteTokenizer.Default));
        Assert.Contains("refusing to overwrite", e.Message);
        var loaded = new TinyNet(seed: 3);
        Checkpoint.LoadLatest(run.Path).LoadModel(loaded);
        AssertSameWeights(first, loaded);
    }

    [Theory]
    [InlineData("latest")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Names_that_are_not_plain_folder_names_are_refused(string name)
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        Assert.Throws<ArgumentException>(() => Checkpoint.Save(run.Path, name, new TinyNet(), Config, ByteTokenizer.Default));
    }

    [Fact]
    public void Keep_last_prunes_older_step_folders_but_not_other_names()
    {
        using var scope = NewDisposeScope();
        using var run = new TempDirectory();
        var net = new TinyNet();
        Checkpoint.Save(run.Path, "best", net, Config, ByteTokenizer.Default, options: new CheckpointOptions { UpdateLatest = false });
        foreach (long step in new long[] { 1, 2, 10, 3 })
            Checkpoint.Save(run.Path, Checkpoint.StepName(step), net, Config, ByteTokenizer.Default, options: new CheckpointOptions { KeepLast = 1 });
        // step 3 is latest though older than 10: it stays, and so does the newest by step.
        Assert.Equal(["best", "latest", "step-000003", "step-000010"],
            Directory.EnumerateFileSystemEntries(run.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_checkpoint_exposes_its_tokenizer_and_generation_config_lists_the_byte_stops_by_hand()
    {
        using var run = new TempDirectory();
        string folder = Checkpoint.Save(run.Path, "a", new TinyNet(), Config, new ByteTokenizer(modelMaxLength: 128));
        var tokenizer = Assert.IsType<ByteTokenizer>(Checkpoint.Open(folder).Tokenizer);
        Assert.Equal(128, tokenizer.ModelMaxLength);
        var generation = GenerationConfig.FromJson(File.ReadAllText(Path.Combine(folder, Checkpoint.GenerationConfigFile)));
        Assert.Equal(256, generation.BosTokenId);
        Assert.Equal([257, 262], generation.EosTokenId); // <|eos|> and <|end|>
        Assert.Equal(258, generation.PadTokenId);
    }

    [Fact]
    public void A_tokenizer_larger_than_the_models_vocabulary_is_refused_at_save_and_at_open()
    {
        using var run = new TempDirectory();
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Save(run.Path, "small", new TinyNet(), Config with { VocabSize = 96 }, ByteTokenizer.Default));
        Assert.Contains("264", e.Message);
        string folder = Checkpoint.Save(run.Path, "a", new TinyNet(), Config, ByteTokenizer.Default);
        string configPath = Path.Combine(folder, Checkpoint.ConfigFile);
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"vocab_size\": 264", "\"vocab_size\": 260"));
        var open = Assert.Throws<InvalidDataException>(() => Checkpoint.Open(folder));
        Assert.Contains("tokenizer.json has 264 ids", open.Message);
        Assert.Contains("vocab_size 260", open.Message);
        Assert.Contains(configPath, open.Message);
    }
}
