using Aha.Checkpoints;
using Aha.Model;
using Aha.Tasks;
using Aha.Tasks.Arithmetic;
using Aha.Tasks.Rewards;
using Aha.Tests.Model;
using Aha.Tokenizer;
using Aha.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

public class LoraTests
{
    static readonly LoraConfig AllSeven = new() { Rank = 4, Alpha = 8 };
    static readonly long[] Ids = [1, 50, 60, 70, 80, 90, 17, 33];

    static ModelConfig GrpoConfig() => new ModelConfig
    {
        VocabSize = ByteTokenizer.VocabSize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64, ModelType = "qwen2",
    }.Validate();

    static Tensor Logits(LlamaModel model, long[] ids, bool grad = false)
    {
        using var mode = grad ? enable_grad() : no_grad();
        using var input = tensor(ids).unsqueeze(0);
        return model.forward(input).detach();
    }

    /// <summary>Fills every B with small random values (a trained adapter), so the adapter's term is not zero.</summary>
    static void Perturb(LoraAdapters adapters, long seed = 3)
    {
        using var noGrad = no_grad();
        var generator = new TorchSharp.torch.Generator((ulong)seed);
        foreach (var (key, t) in adapters.PeftStateDict())
            if (key.Contains("lora_B", StringComparison.Ordinal)) t.copy_(randn(t.shape, generator: generator) * 0.05);
    }

    [Fact]
    public void An_untrained_adapter_leaves_the_logits_of_the_base_exactly()
    {
        using var model = TinyModels.WithFormulaWeights(TinyModels.Config(bias: true));
        var before = Logits(model, Ids);
        model.AttachLora(AllSeven);
        Assert.True(before.eq(Logits(model, Ids)).all().item<bool>(), "B = 0 must make step 0 the base model");
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        Assert.All(model.Lora!.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void The_decode_kernel_path_adds_the_adapter_term_like_the_libtorch_path()
    {
        using var model = TinyModels.WithFormulaWeights(TinyModels.Config());
        Perturb(model.AttachLora(AllSeven));
        // One row without autograd goes through SkinnyLinear's fused kernels; with autograd on, through libtorch.
        var kernel = Logits(model, Ids[..1]);
        var plain = Logits(model, Ids[..1], grad: true);
        var baseOnly = Logits(model, Ids[..1], grad: true);
        Assert.True(kernel.allclose(plain, rtol: 0, atol: 1e-5), $"max diff {(kernel - plain).abs().max().item<float>()}");
        using (model.Lora!.Disabled()) baseOnly = Logits(model, Ids[..1]);
        Assert.True((kernel - baseOnly).abs().max().item<float>() > 1e-4, "the adapter must change the decode step's logits");
    }

    [Fact]
    public void A_few_steps_change_every_adapter_matrix_and_no_base_weight()
    {
        var model = TrainerFixtures.NewModel();
        var baseWeights = TrainerFixtures.Weights(model);
        var adapters = model.AttachLora(AllSeven);
        var before = adapters.PeftStateDict().ToDictionary(p => p.Key, p => p.Value.data<float>().ToArray());
        TrainerFixtures.Trainer(model, TrainerFixtures.Options).Run();
        foreach (var (name, values) in TrainerFixtures.Weights(model)) Assert.True(values.SequenceEqual(baseWeights[name]), $"base weight {name} changed");
        foreach (var (key, t) in adapters.PeftStateDict())
            Assert.False(t.data<float>().ToArray().SequenceEqual(before[key]), $"{key} did not change");
        Assert.Equal(2 * 7 * TrainerFixtures.Config.NumHiddenLayers, before.Count);
    }

    [Fact]
    public void Resuming_a_lora_run_from_its_adapter_checkpoint_is_bit_identical()
    {
        using var dirA = new TempDirectory();
        using var dirB = new TempDirectory();
        var options = TrainerFixtures.Options with { SaveEvery = 2, KeepLast = 0 };
        var straight = TrainerFixtures.NewModel();
        manual_seed(11);
        straight.AttachLora(AllSeven);
        TrainerFixtures.Trainer(straight, options, runDir: dirA.Path).Run();

        var first = TrainerFixtures.NewModel();
        manual_seed(11);
        first.AttachLora(AllSeven);
        TrainerFixtures.Trainer(first, options with { Steps = 2 }, runDir: dirB.Path).Run();
        var checkpoint = AdapterCheckpoint.TryLoadLatest(dirB.Path)!;
        Assert.False(File.Exists(Path.Combine(checkpoint.Directory, Checkpoint.ModelFile)), "a LoRA checkpoint holds no copy of the base");
        Assert.Equal(2, checkpoint.State!.Step);

        var resumed = TrainerFixtures.NewModel();
        resumed.AttachLora(AllSeven); // fresh adapters: the checkpoint's replace them
        TrainerFixtures.Trainer(resumed, options, runDir: dirB.Path).Run(checkpoint);
        var a = straight.Lora!.PeftStateDict();
        foreach (var (key, t) in resumed.Lora!.PeftStateDict())
            Assert.True(t.data<float>().ToArray().SequenceEqual(a[key].data<float>().ToArray()), $"{key} differs after resume");
    }

    [Fact]
    public void A_saved_adapter_reloads_onto_the_base_and_reproduces_the_logits()
    {
        using var dir = new TempDirectory();
        using var model = TinyModels.WithFormulaWeights(TinyModels.Config());
        Perturb(model.AttachLora(AllSeven with { Targets = ["q_proj", "v_proj", "down_proj"] }));
        var expected = Logits(model, Ids);
        AdapterCheckpoint.WriteAdapter(dir.Path, model.Lora!, "tiny-base");

        using var reloaded = TinyModels.WithFormulaWeights(TinyModels.Config());
        var adapter = AdapterCheckpoint.Open(dir.Path);
        Assert.Equal("tiny-base", adapter.BaseModel);
        adapter.AttachTo(reloaded);
        Assert.True(expected.eq(Logits(reloaded, Ids)).all().item<bool>(), "reloaded adapter must give the same logits");
    }

    [Fact]
    public void Merging_gives_the_logits_of_base_plus_adapter()
    {
        using var model = TinyModels.WithFormulaWeights(TinyModels.Config(bias: true));
        Perturb(model.AttachLora(AllSeven));
        var adapted = Logits(model, Ids);
        model.MergeLora();
        Assert.Null(model.Lora);
        var merged = Logits(model, Ids);
        // fp32: W + s·B·A summed in another order than W x + s·B(A x); measured max difference ~1e-7.
        Assert.True(adapted.allclose(merged, rtol: 0, atol: 1e-5), $"max diff {(adapted - merged).abs().max().item<float>()}");
        Assert.True(model.state_dict().Keys.SequenceEqual(TinyModels.WithFormulaWeights(TinyModels.Config(bias: true)).state_dict().Keys));
    }

    /// <summary>The approved listing is written by tests/reference/peft_keys.py from PEFT's own naming rules (cited there), not by Aha.</summary>
    [Fact]
    public void Adapter_keys_are_those_peft_writes()
    {
        using var model = TinyModels.WithFormulaWeights(TinyModels.Config());
        var keys = model.AttachLora(AllSeven).PeftStateDict().Select(p => $"{p.Key} [{string.Join(", ", p.Value.shape)}]");
        var approved = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Model", "approved", "lora_peft_keys.txt"));
        Assert.Equal(approved, keys);
    }

    [Theory]
    [InlineData("q_proj,qkv_proj", "unknown module 'qkv_proj'")]
    [InlineData("", "--lora-targets is empty")]
    public void Bad_targets_are_refused_naming_the_module(string targets, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => (AllSeven with { Targets = LoraConfig.ParseTargets(targets) }).Validate());
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Adapter_config_round_trips_and_refuses_what_is_not_plain_lora()
    {
        var config = AllSeven with { Targets = ["v_proj", "q_proj"], Dropout = 0.05 };
        string json = AdapterCheckpoint.ConfigJson(config, "Qwen/Qwen2.5-0.5B");
        var (read, baseModel) = AdapterCheckpoint.ReadConfig(json, "adapter_config.json");
        Assert.Equal(["q_proj", "v_proj"], read.Targets);
        Assert.Equal((4, 8.0, 0.05, "Qwen/Qwen2.5-0.5B"), (read.Rank, read.Alpha, read.Dropout, baseModel));
        var e = Assert.Throws<NotSupportedException>(() => AdapterCheckpoint.ReadConfig(json.Replace("\"use_dora\": false", "\"use_dora\": true"), "a/adapter_config.json"));
        Assert.Contains("use_dora", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Grpo_with_lora_scores_the_reference_as_the_policy_with_adapters_off()
    {
        var task = new ArithmeticTask(ArithmeticOptions.Level(1));
        using var policy = TinyModels.Random(GrpoConfig());
        using var plain = TinyModels.Random(GrpoConfig());
        Perturb(policy.AttachLora(AllSeven));
        var options = new GrpoOptions { PromptsPerStep = 2, GroupSize = 4, MaxCompletionTokens = 6, LearningRate = 3e-2, Beta = 0.04f, Seed = 5 };
        using var ids = tensor(Ids).unsqueeze(0);
        using (no_grad())
        {
            using var reference = policy.Lora!.Disabled();
            Assert.True(GrpoTrainer.ScoreTokens(policy, ids, options).eq(GrpoTrainer.ScoreTokens(plain, ids, options)).all().item<bool>());
        }
        Assert.True(policy.Lora.Enabled, "disabling is scoped");

        var baseWeights = policy.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
        using var trainer = new GrpoTrainer(policy, ByteTokenizer.Default, task, RewardSet.R1Zero(task), options);
        Assert.Null(trainer.Reference); // no second model in memory
        var step = trainer.Step(0);
        Assert.True(step["kl"] > 0, $"the perturbed adapter differs from the base: kl = {step["kl"]}");
        foreach (var (name, p) in policy.named_parameters()) Assert.True(p.data<float>().ToArray().SequenceEqual(baseWeights[name]), $"{name} changed");
    }

    [Fact]
    public void A_bfloat16_base_trains_float32_adapters_and_a_bfloat16_full_fine_tune_is_refused()
    {
        var task = new ArithmeticTask(ArithmeticOptions.Level(1));
        using var policy = TinyModels.Random(GrpoConfig());
        policy.to(bfloat16);
        var error = Assert.Throws<ArgumentException>(() => new GrpoTrainer(policy, ByteTokenizer.Default, task, RewardSet.R1Zero(task), new GrpoOptions { Beta = 0.04f }));
        Assert.Contains("--dtype float32", error.Message, StringComparison.Ordinal);
        policy.AttachLora(AllSeven);
        using var trainer = new GrpoTrainer(policy, ByteTokenizer.Default, task, RewardSet.R1Zero(task), new GrpoOptions { Beta = 0.04f });
        Assert.Null(trainer.Reference);
        Assert.All(policy.Lora!.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.True(double.IsFinite(trainer.Step(0)["loss"]), "a step on the bfloat16 base with float32 adapters runs");
    }
}
