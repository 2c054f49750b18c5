/// The two shell scripts of the demo image, run by busybox `sh`.
enum DemoScripts {
    /// The initrd's `/init`: load the root disk's drivers in `modules` order, find the GPT partition
    /// named `root` through its `PARTNAME=` uevent, mount it read-write and switch to its `/sbin/init`.
    /// A module in `optional` may fail quietly (soft dependencies such as `crc32c_intel`, which needs
    /// SSE 4.2, have an alternative); any other failure is printed. With no root it says why and powers off.
    static func initrdInit(modules: [String], optional: Set<String>) -> String {
        let quiet = modules.filter { optional.contains($0) }.joined(separator: " ")
        return """
            #!/bin/busybox sh
            # imprint demo initrd (docs/demo-image.md): drivers, find the partition named root, switch to it.
            /bin/busybox --install -s /bin
            export PATH=/bin
            fail() {
              echo "demo-initrd: $*; powering off"
              sync
              poweroff -f
            }
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            # In load order: each after what it depends on.
            for m in \(modules.joined(separator: " ")); do
              case " \(quiet) " in
                *" $m "*) insmod /lib/modules/$m.ko 2>/dev/null ;;
                *) insmod /lib/modules/$m.ko || echo "demo-initrd: could not load $m" ;;
              esac
            done
            dev=
            tries=0
            while [ -z "$dev" ] && [ $tries -lt 100 ]; do
              for u in /sys/class/block/*/uevent; do
                if grep -qx PARTNAME=root "$u"; then
                  dev=$(sed -n 's/^DEVNAME=//p' "$u")
                  break
                fi
              done
              [ -n "$dev" ] || usleep 100000
              tries=$((tries + 1))
            done
            [ -n "$dev" ] || fail "no partition named root after 10 s"
            mount -t ext4 -o rw "/dev/$dev" /newroot || fail "cannot mount /dev/$dev"
            [ -x /newroot/sbin/init ] || fail "/dev/$dev has no /sbin/init"
            umount /proc /sys /dev
            exec switch_root /newroot /sbin/init

            """
    }

    /// The root's `/sbin/init`: `hello from <hostname>`, then what the deploying agent wrote
    /// (`/etc/imprint/customized`, each `file` it names, the NoCloud seed), then power off.
    static let rootInit = """
        #!/bin/sh
        # imprint demo (docs/demo-image.md): say hello, show what the deploying agent customized, power off.
        export PATH=/sbin:/bin:/usr/sbin:/usr/bin
        mount -t proc proc /proc 2>/dev/null
        mount -t sysfs sysfs /sys 2>/dev/null
        mount -t devtmpfs devtmpfs /dev 2>/dev/null
        # Every console the kernel was given, so a screen and a serial line both show it; stdout if none.
        consoles=$(sed -n 's/^\\([^ ]*\\) .*/\\1/p' /proc/consoles 2>/dev/null)
        say() {
          if [ -z "$consoles" ]; then printf '%s\\n' "$*"; return; fi
          for c in $consoles; do printf '%s\\n' "$*" > "/dev/$c"; done
        }
        name=$(head -n 1 /etc/hostname 2>/dev/null)
        [ -n "$name" ] || name="(no /etc/hostname)"
        hostname "$name" 2>/dev/null
        say "hello from $name"
        found=
        if [ -f /etc/imprint/customized ]; then
          while IFS= read -r line || [ -n "$line" ]; do
            [ -n "$line" ] || continue
            found=1
            say "demo: customized: $line"
            case "$line" in
              "file "*)
                f=${line#file }
                if [ -f "$f" ]; then say "demo: file $f: $(head -n 1 "$f")"; else say "demo: file $f: missing"; fi
                ;;
            esac
          done < /etc/imprint/customized
        fi
        # /etc/motd survives a capture: a golden image's marker shows on every machine deployed from it.
        [ -f /etc/motd ] && say "demo: motd: $(head -n 1 /etc/motd)"
        for f in /var/lib/cloud/seed/nocloud/*; do
          [ -f "$f" ] || continue
          found=1
          say "demo: seed ${f##*/}: $(head -n 1 "$f")"
        done
        [ -n "$found" ] || say "demo: no customization found"
        say "demo: powering off"
        sync
        poweroff -f

        """
}
