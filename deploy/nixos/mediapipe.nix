# services.mediapipe: mediapipe on NixOS, the way deploy/systemd/ runs it elsewhere.
#
#   imports = [ ./deploy/nixos/mediapipe.nix ];
#   services.mediapipe = {
#     enable = true;
#     package = pkgs.mediapipe;              # built from this repository
#     mediaRoot = "/srv/media";
#     libraries = [ "/mnt/photos" ];
#     brokerUrlFile = "/run/secrets/mediapipe-broker";   # MEDIAPIPE_BROKER_URL=redis://:pw@host:6379/0
#     workers.cpu = { queues = [ "metadata" "thumbnails" ]; metricsPort = 9101; };
#     workers.gpu = { queues = [ "video" ]; gpu = true; metricsPort = 9102; };
#     ingest.timer = "*-*-* 03:00:00";
#   };
{ config, lib, pkgs, ... }:

let
  cfg = config.services.mediapipe;
  inherit (lib) mkEnableOption mkOption mkIf mkMerge types concatStringsSep
    nameValuePair optionalString optionals listToAttrs escapeShellArg;

  # systemd-escape --path, for unit instance names
  escape = path: lib.replaceStrings [ "/" ] [ "-" ] (lib.removePrefix "/" path);

  hardening = {
    User = cfg.user;
    Group = cfg.group;
    ReadWritePaths = [ cfg.mediaRoot ];
    ProtectSystem = "strict";
    ProtectHome = "read-only";
    PrivateTmp = true;
    NoNewPrivileges = true;
    CapabilityBoundingSet = "";
    ProtectKernelTunables = true;
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" ];
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    LockPersonality = true;
    SystemCallArchitectures = "native";
    SystemCallFilter = [ "@system-service" ];
    UMask = "0022";
    EnvironmentFile = optionals (cfg.brokerUrlFile != null) [ cfg.brokerUrlFile ];
  };

  environment = {
    MEDIAPIPE_MEDIA_ROOT = cfg.mediaRoot;
    MEDIAPIPE_FFMPEG_ACCEL = cfg.accel;
  } // lib.optionalAttrs (cfg.brokerUrl != null) { MEDIAPIPE_BROKER_URL = cfg.brokerUrl; };

  mediapipe = "${cfg.package}/bin/mediapipe --log-format json";

  workerUnit = name: w: nameValuePair "mediapipe-worker-${name}" {
    description = "mediapipe worker ${name} (${concatStringsSep "," w.queues})";
    wantedBy = [ "multi-user.target" ];
    wants = [ "network-online.target" ];
    after = [ "network-online.target" ] ++ optionals cfg.redis.enable [ "redis-mediapipe.service" ];
    inherit environment;
    path = [ pkgs.ffmpeg-headless pkgs.exiftool ];
    serviceConfig = hardening // {
      Type = "exec";
      ExecStart = concatStringsSep " " ([
        "${mediapipe} --log-level info worker"
        "-Q ${concatStringsSep "," w.queues}"
        "-n ${name}@%H"
      ] ++ optionals (w.concurrency != null) [ "-c ${toString w.concurrency}" ]
        ++ optionals (w.metricsPort != null) [
          "--metrics-port ${toString w.metricsPort}"
          "--metrics-address ${cfg.metricsAddress}"
        ]);
      KillMode = "mixed";
      TimeoutStopSec = "15min";
      Restart = "on-failure";
      RestartSec = "10s";
      RuntimeDirectory = "mediapipe-worker-${name}";
      RuntimeDirectoryMode = "0700";
      PrivateDevices = !w.gpu;
    } // lib.optionalAttrs w.gpu {
      DevicePolicy = "closed";
      DeviceAllow = [
        "/dev/nvidiactl rw" "/dev/nvidia0 rw" "/dev/nvidia-uvm rw"
        "/dev/nvidia-uvm-tools rw" "/dev/nvidia-modeset rw" "char-nvidia-caps rw"
      ];
      SupplementaryGroups = [ "video" "render" ];
    };
  };

  ingestUnits = library: let instance = escape library; in [
    (nameValuePair "mediapipe-ingest-${instance}" {
      description = "mediapipe ingest of ${library}";
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      conflicts = optionals cfg.ingest.watch [ "mediapipe-watch-${instance}.service" ];
      inherit environment;
      path = [ pkgs.ffmpeg-headless pkgs.exiftool ];
      serviceConfig = hardening // {
        Type = "oneshot";
        ExecStart = "${mediapipe} ingest ${escapeShellArg library}"
          + optionalString (cfg.ingest.textfileDir != null)
            " --metrics-textfile ${cfg.ingest.textfileDir}/mediapipe-${instance}.prom";
        ReadWritePaths = [ cfg.mediaRoot ]
          ++ optionals (cfg.ingest.textfileDir != null) [ cfg.ingest.textfileDir ];
        Nice = 10;
        IOSchedulingClass = "idle";
        PrivateDevices = true;
      };
    })
  ];

  watchUnit = i: library: let instance = escape library; in
    nameValuePair "mediapipe-watch-${instance}" {
      description = "mediapipe ingest --watch of ${library}";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      inherit environment;
      path = [ pkgs.ffmpeg-headless pkgs.exiftool ];
      serviceConfig = hardening // {
        Type = "exec";
        ExecStart = "${mediapipe} ingest ${escapeShellArg library} --watch"
          + optionalString (cfg.ingest.metricsPort != null)
            " --metrics-port ${toString (cfg.ingest.metricsPort + i)} --metrics-address ${cfg.metricsAddress}";
        Restart = "on-failure";
        RestartSec = "30s";
        Nice = 10;
        PrivateDevices = true;
      };
    };
in
{
  options.services.mediapipe = {
    enable = mkEnableOption "mediapipe, thumbnails and browser-friendly video for a photo library";

    package = mkOption {
      type = types.package;
      description = "The mediapipe package (this repository, built with buildPythonApplication).";
    };

    user = mkOption { type = types.str; default = "mediapipe"; description = "User the services run as."; };
    group = mkOption { type = types.str; default = "mediapipe"; description = "Their group."; };

    mediaRoot = mkOption {
      type = types.path;
      default = "/srv/media";
      description = "The media root (mediapipe init): library/, thumbs/, encoded-video/; the only place the services write.";
    };

    libraries = mkOption {
      type = types.listOf types.path;
      default = [ ];
      example = [ "/mnt/photos" ];
      description = "External libraries ingested in place (read-only to the services).";
    };

    brokerUrl = mkOption {
      type = types.nullOr types.str;
      default = if cfg.redis.enable then "redis://127.0.0.1:${toString cfg.redis.port}/0" else null;
      description = "Celery broker without a password (with one, use brokerUrlFile: the store is world-readable).";
    };

    brokerUrlFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = "An environment file with MEDIAPIPE_BROKER_URL=redis://:password@host:port/db.";
    };

    accel = mkOption {
      type = types.enum [ "disabled" "nvenc" "qsv" "vaapi" "rkmpp" ];
      default = if lib.any (w: w.gpu) (lib.attrValues cfg.workers) then "nvenc" else "disabled";
      description = "ffmpeg.accel (mediapipe.transcode.chain.ACCEL_NAMES): each falls back to software decoding, then to software.";
    };

    redis = {
      enable = mkOption { type = types.bool; default = true; description = "Run a local Redis (AOF on) as the broker."; };
      port = mkOption { type = types.port; default = 6379; description = "Its port."; };
    };

    metricsAddress = mkOption {
      type = types.str;
      default = "0.0.0.0";
      description = "Address the metrics ports bind (127.0.0.1 when Prometheus runs on this machine).";
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the metrics ports for a Prometheus on another machine.";
    };

    workers = mkOption {
      default = { all = { }; };
      description = "Workers by name, each serving a set of queues.";
      type = types.attrsOf (types.submodule {
        options = {
          queues = mkOption {
            type = types.listOf (types.enum [ "metadata" "thumbnails" "video" ]);
            default = [ "metadata" "thumbnails" "video" ];
            description = "Queues this worker serves; a GPU machine serves video.";
          };
          gpu = mkOption { type = types.bool; default = false; description = "Let the worker use the NVIDIA devices (NVENC/NVDEC)."; };
          concurrency = mkOption { type = types.nullOr types.ints.positive; default = null; description = "Processes (default: CPU count; NVENC sessions for video alone)."; };
          metricsPort = mkOption { type = types.nullOr types.port; default = null; example = 9101; description = "Serve Prometheus metrics on this port."; };
        };
      });
    };

    ingest = {
      timer = mkOption {
        type = types.nullOr types.str;
        default = "*-*-* 03:00:00";
        description = "When each library is ingested (systemd OnCalendar); null: no timer.";
      };
      watch = mkOption { type = types.bool; default = false; description = "Follow each library as it changes (ingest --watch services)."; };
      metricsPort = mkOption { type = types.nullOr types.port; default = 9100; description = "First metrics port of the --watch services (one per library, counting up)."; };
      textfileDir = mkOption {
        type = types.nullOr types.path;
        default = "/var/lib/prometheus-node-exporter-text-files";
        description = "node_exporter textfile folder the timer runs write their metrics to.";
      };
    };
  };

  config = mkIf cfg.enable {
    users.users.${cfg.user} = { isSystemUser = true; group = cfg.group; extraGroups = [ "video" "render" ]; };
    users.groups.${cfg.group} = { };

    services.redis.servers.mediapipe = mkIf cfg.redis.enable {
      enable = true;
      port = cfg.redis.port;
      appendOnly = true;
      settings.appendfsync = "everysec";
    };

    systemd.tmpfiles.rules = [ "d ${cfg.mediaRoot} 0755 ${cfg.user} ${cfg.group} -" ]
      ++ optionals (cfg.ingest.textfileDir != null) [ "d ${cfg.ingest.textfileDir} 0755 ${cfg.user} ${cfg.group} -" ];

    systemd.services = mkMerge [
      (listToAttrs (lib.mapAttrsToList workerUnit cfg.workers))
      (listToAttrs (lib.concatMap ingestUnits cfg.libraries))
      (mkIf cfg.ingest.watch (listToAttrs (lib.imap0 watchUnit cfg.libraries)))
    ];

    systemd.timers = mkIf (cfg.ingest.timer != null) (listToAttrs (map (library:
      nameValuePair "mediapipe-ingest-${escape library}" {
        wantedBy = [ "timers.target" ];
        timerConfig = { OnCalendar = cfg.ingest.timer; RandomizedDelaySec = "15min"; Persistent = true; };
      }) cfg.libraries));

    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall (lib.filter (p: p != null)
      (map (w: w.metricsPort) (lib.attrValues cfg.workers)
        ++ optionals cfg.ingest.watch [ cfg.ingest.metricsPort ]));
  };
}
