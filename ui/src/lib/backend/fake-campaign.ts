// The campaign the fake backend serves: the shipped 2024 Changzhou campaign
// (crates/gridwalk-server/campaigns/changzhou-2024-dust-100day.json) as the server sends
// it to a village's phone, deadlines at the village level.

import type { CampaignView } from './types';

export const FAKE_CAMPAIGN: CampaignView = {
  "id": "changzhou-2024-dust-100day",
  "name_zh": "2024年常州市粉尘涉爆专项整治“百日攻坚”行动",
  "document_no": "常安办〔2024〕6号",
  "issued_by": "常州市安全生产委员会办公室（金坛区安委办转发：坛安委办〔2024〕9号）",
  "starts_on": "2024-01-25",
  "ends_on": "2024-12-31",
  "active": false,
  "duties": [
    {
      "id": "census",
      "no": 1,
      "title_zh": "排查粉尘涉爆企业底数",
      "summary_zh": "村（社区）网格员排查辖区内所有企业，不留死角盲区；乡镇（街道）组织专家赴疑似企业现场核查，确认粉尘种类并上报",
      "deadline": "2024-02-09"
    },
    {
      "id": "factory-in-factory",
      "no": 2,
      "title_zh": "深化“厂中厂”治理",
      "summary_zh": "乡镇（街道）、村（社区）全面排查、动态掌握“厂中厂”出租信息，对承租企业生产工艺、主要风险进行初步核查和上报；12月底前全部整治到位",
      "deadline": "2024-05-31"
    },
    {
      "id": "risk-report",
      "no": 3,
      "title_zh": "做好工业企业风险报告",
      "summary_zh": "乡镇（街道）、村（社区）上门服务指导，对没有能力进行风险报告的企业进行现场帮扶",
      "deadline": "2024-03-31"
    },
    {
      "id": "training",
      "no": 4,
      "title_zh": "加强警示教育培训",
      "summary_zh": "铝镁粉尘、单班作业10人以上其他粉尘企业主要负责人警示教育和安全培训；乡镇（街道）核查学习、测试成效，村（社区）推动全覆盖培训",
      "deadline": "2024-02-09"
    },
    {
      "id": "expert-check",
      "no": 5,
      "title_zh": "开展专家深度体检",
      "summary_zh": "运用专家服务组开展粉尘涉爆企业全覆盖服务指导",
      "deadline": "2024-02-09"
    },
    {
      "id": "joint-enforcement",
      "no": 6,
      "title_zh": "实施联合执法检查",
      "summary_zh": "统筹市区镇执法力量，实现粉尘涉爆企业全覆盖执法检查；核查12350等举报",
      "deadline": "2024-04-30"
    },
    {
      "id": "supervision",
      "no": 7,
      "title_zh": "推动全过程督查督导",
      "summary_zh": "督导组至少走访1个镇（街道、园区），抽查不少于10家粉尘涉爆企业、2家“厂中厂”企业，同步抽查3家其他企业；问题严重的挂牌督办",
      "deadline": "2024-04-30"
    },
    {
      "id": "safety-officer",
      "no": 8,
      "title_zh": "推广粉尘涉爆安全专员",
      "summary_zh": "乡镇（街道）、村（社区）跟踪督促、现场核查企业安全专员配备情况，如实上报安全专员信息",
      "deadline": "2024-02-09"
    }
  ]
};
