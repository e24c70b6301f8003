# services.mediapipe evaluated without nixpkgs: the module applied to a stub of the `lib` and
# `pkgs` it uses (no module system: `mkIf` is an `if`, options are given whole in `cfgJson`).
# nix-instantiate --eval --strict --json tests/data/nixos-stub.nix --argstr cfgJson '{…}'
{ cfgJson, module ? ../../deploy/nixos/mediapipe.nix }:

let
  b = builtins;
  lib = rec {
    mkEnableOption = description: { inherit description; default = false; };
    mkOption = option: option;
    mkIf = cond: value: if cond then value else { };
    mkMerge = b.foldl' (a: c: a // c) { };
    types = {
      bool = "bool"; str = "str"; path = "path"; port = "port"; package = "package";
      nullOr = t: t; listOf = t: t; attrsOf = t: t; submodule = m: m; enum = l: l;
      ints = { positive = "int"; };
    };
    inherit (b) concatStringsSep listToAttrs filter attrValues;
    nameValuePair = name: value: { inherit name value; };
    optionals = cond: list: if cond then list else [ ];
    optionalAttrs = cond: attrs: if cond then attrs else { };
    optionalString = cond: s: if cond then s else "";
    escapeShellArg = s: "'" + b.replaceStrings [ "'" ] [ "'\\''" ] s + "'";
    imap0 = f: list: b.genList (i: f i (b.elemAt list i)) (b.length list);
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (b.attrNames attrs);
    unique = b.foldl' (acc: x: if b.elem x acc then acc else acc ++ [ x ]) [ ];
  };
  pkgs = {
    formats.json = _: { type = "json"; generate = name: value: "/nix/store/settings-${name}:${b.toJSON value}"; };
    runtimeShell = "/nix/store/bash/bin/sh";
    ffmpeg-headless = "/nix/store/ffmpeg";
    exiftool = "/nix/store/exiftool";
    callPackage = _: _: "/nix/store/mediapipe";
  };
  cfg = b.fromJSON cfgJson;
  config = {
    services.mediapipe = cfg;
    services.redis.servers.mediapipe = { unixSocket = "/run/redis-mediapipe/redis.sock"; user = "redis-mediapipe"; };
  };
  evaluated = import module { inherit config lib pkgs; };
  out = evaluated.config;
in
{
  options = b.attrNames evaluated.options.services.mediapipe;
  assertions = map (a: { inherit (a) assertion message; }) out.assertions;
  services = b.mapAttrs (name: unit: {
    ExecStart = unit.serviceConfig.ExecStart;
    ExecStartPre = unit.serviceConfig.ExecStartPre;
    after = unit.after;
    conflicts = unit.conflicts or [ ];
    environment = unit.environment;
    EnvironmentFile = unit.serviceConfig.EnvironmentFile;
    UMask = unit.serviceConfig.UMask;
    SystemCallFilter = unit.serviceConfig.SystemCallFilter;
    MemoryMax = unit.serviceConfig.MemoryMax or null;
    DeviceAllow = unit.serviceConfig.DeviceAllow or [ ];
    PrivateDevices = unit.serviceConfig.PrivateDevices;
    SuccessExitStatus = unit.serviceConfig.SuccessExitStatus or null;
  }) out.systemd.services;
  timers = b.attrNames out.systemd.timers;
  firewall = out.networking.firewall.allowedTCPPorts;
  redis = out.services.redis.servers.mediapipe;
  tmpfiles = out.systemd.tmpfiles.rules;
  extraGroups = out.users.users.mediapipe.extraGroups;
}
